import { readPart10 } from './part10';
import { isValidatedReport } from './reports';
import { sample } from '../../../test/support/sample-files';

const flags = (completion?: string, verification?: string) => ({
  ...(completion ? { '0040A491': { vr: 'CS', Value: [completion] } } : {}),
  ...(verification ? { '0040A493': { vr: 'CS', Value: [verification] } } : {}),
});

describe('isValidatedReport', () => {
  it.each([
    ['1.2.840.10008.5.1.4.1.1.88.11', 'Basic Text SR, complete and verified', flags('COMPLETE', 'VERIFIED'), true],
    ['1.2.840.10008.5.1.4.1.1.88.22', 'Enhanced SR, complete and verified', flags('COMPLETE', 'VERIFIED'), true],
    ['1.2.840.10008.5.1.4.1.1.88.33', 'Comprehensive SR, complete and verified', flags('COMPLETE', 'VERIFIED'), true],
    ['1.2.840.10008.5.1.4.1.1.88.34', 'Comprehensive 3D SR, complete and verified', flags('COMPLETE', 'VERIFIED'), true],
    ['1.2.840.10008.5.1.4.1.1.88.35', 'Extensible SR, complete and verified', flags('COMPLETE', 'VERIFIED'), true],
    ['1.2.840.10008.5.1.4.1.1.88.33', 'a draft (partial, unverified)', flags('PARTIAL', 'UNVERIFIED'), false],
    ['1.2.840.10008.5.1.4.1.1.88.33', 'complete but not signed off', flags('COMPLETE', 'UNVERIFIED'), false],
    ['1.2.840.10008.5.1.4.1.1.88.33', 'signed off while partial', flags('PARTIAL', 'VERIFIED'), false],
    ['1.2.840.10008.5.1.4.1.1.88.33', 'no flags at all', flags(), false],
    ['1.2.840.10008.5.1.4.1.1.88.33', 'flags in lower case (not a defined term)', flags('complete', 'verified'), false],
    ['1.2.840.10008.5.1.4.1.1.104.1', 'Encapsulated PDF, verified', flags(undefined, 'VERIFIED'), true],
    ['1.2.840.10008.5.1.4.1.1.104.2', 'Encapsulated CDA, verified', flags(undefined, 'VERIFIED'), true],
    ['1.2.840.10008.5.1.4.1.1.104.1', 'Encapsulated PDF without a verification flag', flags(), false],
    ['1.2.840.10008.5.1.4.1.1.88.67', 'X-Ray Radiation Dose SR (not a report a referrer reads)', flags('COMPLETE', 'VERIFIED'), false],
    ['1.2.840.10008.5.1.4.1.1.88.59', 'Key Object Selection', flags('COMPLETE', 'VERIFIED'), false],
    ['1.2.840.10008.5.1.4.1.1.88.50', 'Mammography CAD SR', flags('COMPLETE', 'VERIFIED'), false],
    ['1.2.840.10008.5.1.4.1.1.2', 'CT Image', flags('COMPLETE', 'VERIFIED'), false],
  ])('%s, %s: %s', (sopClassUid, _situation, attributes, expected) => {
    expect(isValidatedReport(sopClassUid, attributes)).toBe(expected);
  });

  it.each([
    ['test-SR.dcm', 'a Comprehensive SR, COMPLETE and VERIFIED', true],
    ['reportsi.dcm', 'a Basic Text SR, PARTIAL and UNVERIFIED', false],
  ])('reads the flags of the real file %s (%s): %s', async (file, _situation, expected) => {
    const { dataset } = await readPart10(sample(file));
    expect(isValidatedReport(String(dataset['00080016']?.Value?.[0]), dataset)).toBe(expected);
  });
});
