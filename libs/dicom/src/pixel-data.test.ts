import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { framesOfFragments, MalformedPixelDataError, readPixelFrames } from './pixel-data';
import { runPydicom, sample } from '../../../test/support/sample-files';

const bytes = (...values: number[]) => new Uint8Array(values);
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
