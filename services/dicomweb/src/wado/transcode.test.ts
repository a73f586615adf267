import { readFileSync } from 'node:fs';
import { readPixelFrames } from '@imaging-facade/dicom';
import { SAMPLES } from '../../../../test/support/sample-files';
import { canTranscode, transcodeFrames, transcodePart10 } from './transcode';

const EXPLICIT = '1.2.840.10008.1.2.1';

describe('which stored syntax can be given in which asked one', () => {
  test.each([
    ['Implicit VR Little Endian', '1.2.840.10008.1.2', true],
    ['Explicit VR Big Endian', '1.2.840.10008.1.2.2', true],
    ['Deflated Explicit VR Little Endian', '1.2.840.10008.1.2.1.99', true],
    ['RLE Lossless', '1.2.840.10008.1.2.5', true],
    ['JPEG Baseline', '1.2.840.10008.1.2.4.50', true],
    ['JPEG Extended: not in dcmjs-codecs', '1.2.840.10008.1.2.4.51', false],
    ['JPEG Lossless non-SV1: not in dcmjs-codecs', '1.2.840.10008.1.2.4.57', false],
    ['JPEG Lossless SV1', '1.2.840.10008.1.2.4.70', true],
    ['JPEG-LS Lossless', '1.2.840.10008.1.2.4.80', true],
    ['JPEG-LS Near-Lossless', '1.2.840.10008.1.2.4.81', true],
    ['JPEG 2000 Lossless', '1.2.840.10008.1.2.4.90', true],
    ['JPEG 2000', '1.2.840.10008.1.2.4.91', true],
  ] as const)('%s → explicit VR little endian: %s', (_name, stored, expected) => {
    expect(canTranscode(stored, EXPLICIT)).toBe(expected);
  });

  test('the stored syntax is always given; no other target than explicit VR little endian is made', () => {
    expect(canTranscode('1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.51')).toBe(true);
    expect(canTranscode(EXPLICIT, '1.2.840.10008.1.2.4.80')).toBe(false);
    expect(canTranscode('1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2')).toBe(false);
  });
});

describe('transcoding pydicom\'s compressed samples', () => {
  const original = async (): Promise<Uint8Array> => (await readPixelFrames(SAMPLES.mrExplicitLittle)).frames[0] as Uint8Array;

  test.each([
    ['RLE', SAMPLES.mrRle],
    ['JPEG-LS lossless', SAMPLES.mrJpegLs],
    ['JPEG 2000 lossless', SAMPLES.mrJpeg2000Lossless],
    ['big endian', SAMPLES.mrExplicitBig],
  ])('%s: the frame is the uncompressed original\'s, byte for byte', async (_name, file) => {
    const [frame] = await transcodeFrames(readFileSync(file), EXPLICIT);
    expect(Buffer.from(frame as Uint8Array).equals(Buffer.from(await original()))).toBe(true);
  });

  test('a Part 10 file in explicit VR little endian, whose native pixels are the original\'s', async () => {
    const file = await transcodePart10(readFileSync(SAMPLES.mrJpegLs), EXPLICIT);
    const pixels = await readPixelFrames(file);
    expect(pixels.transferSyntaxUid).toBe(EXPLICIT);
    expect(pixels.encapsulated).toBe(false);
    expect(Buffer.from(pixels.frames[0] as Uint8Array).equals(Buffer.from(await original()))).toBe(true);
  });

  test('a deflated dataset is inflated and written uncompressed', async () => {
    const file = await transcodePart10(readFileSync(SAMPLES.deflated), EXPLICIT);
    const [stored, served] = [await readPixelFrames(SAMPLES.deflated), await readPixelFrames(file)];
    expect(served.transferSyntaxUid).toBe(EXPLICIT);
    expect(Buffer.from(served.frames[0] as Uint8Array).equals(Buffer.from(stored.frames[0] as Uint8Array))).toBe(true);
  });
});
