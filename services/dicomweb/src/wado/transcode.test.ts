import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { indexPixelData, readPixelFrames } from '@imaging-facade/dicom';
import { implicitVrCopies, pydicomDifferences, type ComparedFiles } from '../../../../test/support/dataset-compare';
import { sample, SAMPLES } from '../../../../test/support/sample-files';
import { canTranscode, framesPlan, transcodeFrames, transcodePart10 } from './transcode';

const EXPLICIT = '1.2.840.10008.1.2.1';

/** Every frame of a file in explicit VR little endian, each read from the file and decoded alone, as a large instance's frames are. */
async function framesDecodedAlone(file: string): Promise<Uint8Array[]> {
  const index = await indexPixelData(file);
  if (index === undefined) throw new Error(`${file} is deflated`);
  return transcodeFrames(index, Array.from({ length: index.frameCount }, (_, frame) => frame), EXPLICIT);
}

describe('which stored syntax can be given in which asked one', () => {
  test.each([
    ['Implicit VR Little Endian', '1.2.840.10008.1.2', true],
    ['Explicit VR Little Endian (rewritten: group lengths out)', EXPLICIT, true],
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
    expect(canTranscode('1.2.840.10008.1.2', '1.2.840.10008.1.2.2')).toBe(false);
    expect(canTranscode('1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.51')).toBe(true);
    expect(canTranscode(EXPLICIT, '1.2.840.10008.1.2.4.80')).toBe(false);
    expect(canTranscode('1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2')).toBe(false);
  });

  test('a 32-bit compressed instance is said not decodable up front (dcmjs-codecs decodes 8 and 16 bits); a 32-bit native one is rewritten', async () => {
    expect(canTranscode('1.2.840.10008.1.2.5', EXPLICIT, 32)).toBe(false);
    expect(canTranscode('1.2.840.10008.1.2.5', EXPLICIT, 16)).toBe(true);
    expect(canTranscode('1.2.840.10008.1.2', EXPLICIT, 32)).toBe(true);
    // What the promise stands for: the decoder does fail on one.
    await expect(transcodePart10(readFileSync(sample('SC_rgb_rle_32bit.dcm')), EXPLICIT)).rejects.toThrow();
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
    const [frame] = await framesDecodedAlone(file);
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

describe('how frames are served for an asked transfer syntax', () => {
  const BIG = '1.2.840.10008.1.2.2';
  const IMPLICIT = '1.2.840.10008.1.2';
  const RLE = '1.2.840.10008.1.2.5';
  test.each([
    ['big endian asked as explicit VR little endian: swapped', BIG, false, EXPLICIT, { kind: 'transcoded', syntax: EXPLICIT }],
    ['big endian asked as *: swapped, never unswapped under a little endian label', BIG, false, '*', { kind: 'transcoded', syntax: EXPLICIT }],
    ['big endian asked by name: as stored, labelled big endian', BIG, false, BIG, { kind: 'as-stored', syntax: BIG }],
    ['implicit VR asked as explicit VR little endian: the same bytes', IMPLICIT, false, EXPLICIT, { kind: 'as-stored', syntax: EXPLICIT }],
    ['explicit VR little endian asked as *: as stored', EXPLICIT, false, '*', { kind: 'as-stored', syntax: EXPLICIT }],
    ['explicit VR little endian asked as big endian: not made', EXPLICIT, false, BIG, undefined],
    ['RLE asked as *: the compressed frames', RLE, true, '*', { kind: 'as-stored', syntax: RLE }],
    ['RLE asked as explicit VR little endian: decoded', RLE, true, EXPLICIT, { kind: 'transcoded', syntax: EXPLICIT }],
    ['JPEG Extended asked as explicit VR little endian: no decoder', '1.2.840.10008.1.2.4.51', true, EXPLICIT, undefined],
  ] as const)('%s', (_name, stored, encapsulated, asked, expected) => {
    expect(framesPlan(stored, encapsulated, asked)).toEqual(expected);
  });
});

describe('a transcoded instance is the stored one but for its syntax and pixel encoding, as pydicom reads both', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'facade-transcoded-'));
  const implicitCopy = (name: string): string => path.join(work, `implicit-${name}`);

  /** [what, the stored file, what pydicom compares beyond the elements]. */
  const CASES: ReadonlyArray<readonly [string, () => string, Omit<ComparedFiles, 'stored' | 'served'>]> = [
    ['implicit VR, ISO 2022 Japanese with private elements (chrJapMulti)', () => implicitCopy('chrJapMulti.dcm'), {}],
    ['implicit VR with GE private elements, Pixel Padding Value -2000 (CT_small)', () => implicitCopy('CT_small.dcm'), {}],
    ['implicit VR, 32 bits allocated (rtdose)', () => sample('rtdose.dcm'), {}],
    ['big endian, 32 bits allocated (rtdose_expb)', () => sample('rtdose_expb.dcm'), {}],
    ['big endian, 16 bits (MR_small_bigendian)', () => SAMPLES.mrExplicitBig, {}],
    ['deflated (image_dfl)', () => SAMPLES.deflated, {}],
    ['RLE (MR_small_RLE)', () => SAMPLES.mrRle, {}],
    ['RLE, 2 RGB frames (SC_rgb_rle_2frame)', () => sample('SC_rgb_rle_2frame.dcm'), {}],
    ['RLE, 16-bit RGB, 2 frames (SC_rgb_rle_16bit_2frame)', () => sample('SC_rgb_rle_16bit_2frame.dcm'), {}],
    ['JPEG-LS lossless (MR_small_jpeg_ls_lossless)', () => SAMPLES.mrJpegLs, { reference: SAMPLES.mrExplicitLittle }],
    ['JPEG 2000 lossless (MR_small_jp2klossless)', () => SAMPLES.mrJpeg2000Lossless, { reference: SAMPLES.mrExplicitLittle }],
    ['JPEG 2000 (JPEG2000)', () => sample('JPEG2000.dcm'), {}],
    ['JPEG lossless SV1, RGB (SC_rgb_jpeg_gdcm)', () => sample('SC_rgb_jpeg_gdcm.dcm'), { reference: SAMPLES.rgbRle }],
    ['JPEG baseline YBR_FULL, given as RGB (SC_rgb_jpeg_dcmtk)', () => SAMPLES.jpegBaseline, { changed: { PhotometricInterpretation: 'RGB' } }],
  ];
  const found = new Map<string, string[]>();

  beforeAll(async () => {
    implicitVrCopies(work, [sample('chrJapMulti.dcm'), SAMPLES.ctExplicitLittle]);
    const compared: ComparedFiles[] = [];
    for (const [, stored, options] of CASES) {
      const served = path.join(work, `served-${compared.length}.dcm`);
      writeFileSync(served, await transcodePart10(readFileSync(stored()), EXPLICIT));
      compared.push({ stored: stored(), served, ...options });
    }
    pydicomDifferences(compared).forEach((differences, index) => found.set((CASES[index] as readonly [string, ...unknown[]])[0], differences));
  }, 120_000);

  test.each(CASES.map(([name]) => [name]))('%s', (name) => {
    expect(found.get(name)).toEqual([`transfer syntax: ${EXPLICIT}`]);
  });

  // Every case with pixels that can be read by range (chrJapMulti has none; a deflated one is read whole).
  test.each(CASES.filter(([name]) => !/chrJapMulti|deflated/.test(name)).map(([name, stored]) => [name, stored] as const))(
    '%s: each frame read and decoded alone is the frame of the whole instance transcoded',
    async (_name, stored) => {
      const whole = await readPixelFrames(await transcodePart10(readFileSync(stored()), EXPLICIT));
      const alone = await framesDecodedAlone(stored());
      expect(alone.map((frame) => Buffer.from(frame).toString('hex'))).toEqual(whole.frames.map((frame) => Buffer.from(frame).toString('hex')));
    },
  );

  test('the frames of a 32-bit big endian dose are the little endian stored one\'s, cut by frame size', async () => {
    const [fromBig, stored] = await Promise.all([framesDecodedAlone(sample('rtdose_expb.dcm')), readPixelFrames(sample('rtdose.dcm'))]);
    expect(fromBig.map((frame) => Buffer.from(frame).toString('hex'))).toEqual(stored.frames.map((frame) => Buffer.from(frame).toString('hex')));
  });

  test('a big endian frame read as little endian gives pydicom\'s first pixel (905), not -30461', async () => {
    const [frame] = await framesDecodedAlone(SAMPLES.mrExplicitBig);
    expect(Buffer.from(frame as Uint8Array).readInt16LE(0)).toBe(905);
  });

  test('a 2-frame JPEG Lossless cine in 1 KB fragments without an offset table (dcmcjpeg +fs 1) decodes to the native frames it was made from', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fragments-'));
    const native = path.join(dir, 'native.dcm');
    const jpeg = path.join(dir, 'jpeg.dcm');
    execFileSync('dcmdrle', [sample('SC_rgb_rle_2frame.dcm'), native]);
    execFileSync('dcmcjpeg', ['+fs', '1', '-ot', native, jpeg]);
    const [decoded, original] = await Promise.all([framesDecodedAlone(jpeg), readPixelFrames(native)]);
    expect(decoded.map((frame) => Buffer.from(frame).toString('hex'))).toEqual(original.frames.map((frame) => Buffer.from(frame).toString('hex')));
  });
});
