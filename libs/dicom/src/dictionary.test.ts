import { ambiguousVrOf, keywordOf, tagOf, tagsOf, vrOf } from './dictionary';

describe('the data dictionary', () => {
  it.each([
    ['PatientName', '00100010'],
    ['StudyInstanceUID', '0020000D'],
    ['CTDIvol', '00189345'],
    ['ContentSequence', '0040A730'],
  ])('gives the tag of %s: %s', (keyword, tag) => {
    expect(tagOf(keyword)).toBe(tag);
    expect(keywordOf(tag)).toBe(keyword);
  });

  it('refuses a keyword the standard does not define', () => {
    expect(() => tagOf('PatientNmae')).toThrow(/PatientNmae/);
  });

  it('names the tags of a list of keywords', () => {
    expect(tagsOf(['PatientID', 'Modality'])).toEqual({ PatientID: '00100020', Modality: '00080060' });
  });

  it.each([
    ['00100010', 'PN'],
    ['00280106', 'US'], // SmallestImagePixelValue: US or SS
    ['7FE00010', 'OW'], // PixelData: OB or OW
    ['00080000', 'UL'], // a group length
    ['00091010', undefined], // private
  ])('gives the VR of %s: %s', (tag, vr) => {
    expect(vrOf(tag)).toBe(vr);
  });
});

describe('the VRs the standard leaves a choice of', () => {
  it.each([
    ['PixelPaddingValue', 'US or SS'],
    ['PixelData', 'OB or OW'],
    ['LUTData', 'US or OW'],
    ['Rows', undefined],
  ])('%s: %s', (keyword, choice) => {
    expect(ambiguousVrOf(tagOf(keyword))).toBe(choice);
  });
});
