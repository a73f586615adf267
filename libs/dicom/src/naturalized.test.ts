import { readFileSync } from 'node:fs';
import { SAMPLES } from '../../../test/support/sample-files';
import { readNaturalizedPart10 } from './naturalized';

describe('a Part 10 file as dcmjs naturalized elements', () => {
  test('an explicit VR little endian file keeps its syntax; values are keyed by keyword', () => {
    const { transferSyntaxUid, elements } = readNaturalizedPart10(readFileSync(SAMPLES.ctExplicitLittle));
    expect(transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    expect(elements.Rows).toBe(128);
    expect(elements.Modality).toBe('CT');
  });

  test('a deflated file is inflated: its elements are then explicit VR little endian', () => {
    const { transferSyntaxUid, elements } = readNaturalizedPart10(readFileSync(SAMPLES.deflated));
    expect(transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    expect(elements.PixelData).toBeDefined();
  });

  test('a compressed file names its own syntax', () => {
    expect(readNaturalizedPart10(readFileSync(SAMPLES.mrJpegLs)).transferSyntaxUid).toBe('1.2.840.10008.1.2.4.80');
  });
});
