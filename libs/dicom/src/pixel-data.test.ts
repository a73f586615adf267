import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { framesOfFragments, MalformedPixelDataError, nativeFrame, readPixelFrames } from './pixel-data';
import { runPydicom, sample } from '../../../test/support/sample-files';

const bytes = (...values: number[]) => new Uint8Array(values);
/** A Multi-frame Single Bit Secondary Capture of 3×3 pixels and 4 frames (test/fixtures/generate-1bit-multiframe.py). */
const ONE_BIT = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'sc-1bit-3x3-4frames.dcm');
const SOI = [0xff, 0xd8];
const J2K = [0xff, 0x4f];

describe('framesOfFragments: compressed frames from the fragments of encapsulated Pixel Data', () => {
  test.each([
    ['one fragment per frame', [bytes(...SOI, 1), bytes(...SOI, 2)], 2, [[...SOI, 1], [...SOI, 2]]],
    ['one frame in several fragments', [bytes(...SOI, 1), bytes(2), bytes(3)], 1, [[...SOI, 1, 2, 3]]],
    ['two JPEG frames of two fragments each, no offset table', [bytes(...SOI, 1), bytes(2), bytes(...SOI, 3), bytes(4)], 2, [[...SOI, 1, 2], [...SOI, 3, 4]]],
    ['two JPEG 2000 frames, split unevenly', [bytes(...J2K, 1), bytes(...J2K, 2), bytes(3), bytes(4)], 2, [[...J2K, 1], [...J2K, 2, 3, 4]]],
  ])('%s', (_what, fragments, frameCount, expected) => {
    expect(framesOfFragments(fragments, frameCount).map((frame) => [...frame])).toEqual(expected);
  });

  test('fragments that cannot be told apart into the frames said: an error, never a fragment served as a frame', () => {
    expect(() => framesOfFragments([bytes(...SOI, 1), bytes(2), bytes(3)], 2)).toThrow(MalformedPixelDataError);
  });
});

describe('readPixelFrames', () => {
  test('a 2-frame JPEG Lossless cine written in 1 KB fragments without an offset table (dcmcjpeg +fs 1): two whole frames, as pydicom reads them', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'frames-'));
    const native = path.join(dir, 'native.dcm');
    const jpeg = path.join(dir, 'jpeg.dcm');
    execFileSync('dcmdrle', [sample('SC_rgb_rle_2frame.dcm'), native]);
    execFileSync('dcmcjpeg', ['+fs', '1', '-ot', native, jpeg]);
    return readPixelFrames(jpeg).then(({ frames }) => {
      const expected = runPydicom<string[]>(
        `
import json, sys, pydicom
from pydicom.encaps import generate_pixel_data_frame
ds = pydicom.dcmread(sys.argv[1])
print(json.dumps([frame.hex() for frame in generate_pixel_data_frame(ds.PixelData, int(ds.NumberOfFrames))]))
`,
        [jpeg],
      );
      expect(frames.map((frame) => Buffer.from(frame).toString('hex'))).toEqual(expected);
    });
  });

  test('an uncompressed YBR_FULL_422 image: one frame of two samples a pixel (20,000 bytes for 100×100), not three', async () => {
    const { frames } = await readPixelFrames(sample('SC_ybr_full_422_uncompressed.dcm'));
    expect(frames.map((frame) => frame.length)).toEqual([20_000]);
  });
});

describe('nativeFrame: one frame of native Pixel Data, starting at bit 0 of its first byte', () => {
  // Frames of 1 bit a pixel follow one another bit after bit (PS3.5 8.1.1): pixel n is bit n % 8 of byte n / 8.
  test.each([
    ['9-bit frames (3×3), the first: its 9th bit kept, the 7 bits after it (the next frame) zero', [0x11, 0xa9, 0xb4], 0, 9, [0x11, 0x01]],
    ['9-bit frames, the second: from bit 1 of byte 1', [0x11, 0xa9, 0xb4], 1, 9, [0x54, 0x00]],
    ['9-bit frames, the fourth: from bit 3 of byte 3, ending in byte 4', [0x11, 0xa9, 0xb4, 0xd7, 0x05, 0x00], 3, 9, [0xba, 0x00]],
    ['12-bit frames (3×4), the second: the high half of byte 1 and all of byte 2', [0xff, 0x3f, 0xc5], 1, 12, [0x53, 0x0c]],
    ['whole bytes (8-bit 2×2), the second: the stored bytes', [1, 2, 3, 4, 5, 6, 7, 8], 1, 32, [5, 6, 7, 8]],
  ])('%s', (_what, pixelData, frame, frameBits, expected) => {
    expect([...nativeFrame(new Uint8Array(pixelData), frame, frameBits)]).toEqual(expected);
  });
});

describe('readPixelFrames of native 1-bit multi-frames', () => {
  test('a Multi-frame Single Bit Secondary Capture of 3×3 pixels and 4 frames: 4 frames, each what pydicom reads, packed from bit 0', async () => {
    const { frames } = await readPixelFrames(ONE_BIT);
    const expected = runPydicom<string[]>(
      `
import json, sys, pydicom
from pydicom.pixel_data_handlers.util import pack_bits
print(json.dumps([pack_bits(frame, pad=False).hex() for frame in pydicom.dcmread(sys.argv[1]).pixel_array]))
`,
      [ONE_BIT],
    );
    expect(expected).toHaveLength(4);
    expect(frames.map((frame) => Buffer.from(frame).toString('hex'))).toEqual(expected);
  });

  test('Pixel Data too short for the frames Number of Frames says: an error, not fewer frames served as if there were no more', async () => {
    const file = readFileSync(ONE_BIT);
    // Number of Frames (0028,0008) IS "4" made "6": 54 bits, more than the 6 bytes of Pixel Data hold.
    const at = file.indexOf(Buffer.from([0x28, 0x00, 0x08, 0x00, 0x49, 0x53, 0x02, 0x00]));
    expect(at).toBeGreaterThan(0);
    const tooMany = Buffer.from(file);
    tooMany.write('6 ', at + 8, 'latin1');
    await expect(readPixelFrames(tooMany)).rejects.toThrow(MalformedPixelDataError);
  });
});
