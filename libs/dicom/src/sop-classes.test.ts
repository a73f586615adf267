import { isMadeAboutImages } from './sop-classes';

describe('objects made from or about the images, not acquired', () => {
  it.each([
    ['1.2.840.10008.5.1.4.1.1.2', 'CT Image', false],
    ['1.2.840.10008.5.1.4.1.1.4', 'MR Image', false],
    ['1.2.840.10008.5.1.4.1.1.1.2', 'Digital Mammography X-Ray Image', false],
    ['1.2.840.10008.5.1.4.1.1.77.1.1', 'VL Endoscopic Image (starts like 1.1.7)', false],
    ['1.2.840.10008.5.1.4.1.1.9.1.1', '12-lead ECG Waveform', false],
    ['1.2.840.10008.5.1.4.1.1.481.1', 'RT Image (a portal image, acquired)', false],
    ['1.2.840.10008.5.1.4.1.1.88.67', 'X-Ray Radiation Dose SR', true],
    ['1.2.840.10008.5.1.4.1.1.88.59', 'Key Object Selection', true],
    ['1.2.840.10008.5.1.4.1.1.11.1', 'Grayscale Softcopy Presentation State', true],
    ['1.2.840.10008.5.1.4.1.1.104.1', 'Encapsulated PDF', true],
    ['1.2.840.10008.5.1.4.1.1.7', 'Secondary Capture Image', true],
    ['1.2.840.10008.5.1.4.1.1.7.4', 'Multi-frame True Color Secondary Capture', true],
    ['1.2.840.10008.5.1.4.1.1.66.4', 'Segmentation', true],
    ['1.2.840.10008.5.1.4.1.1.66.1', 'Spatial Registration', true],
    ['1.2.840.10008.5.1.4.1.1.30', 'Parametric Map', true],
    ['1.2.840.10008.5.1.4.1.1.481.3', 'RT Structure Set', true],
    ['1.2.840.10008.5.1.4.1.1.481.2', 'RT Dose', true],
  ])('%s (%s): %s', (uid, _name, expected) => {
    expect(isMadeAboutImages(uid)).toBe(expected);
  });
});
