import { copyFileSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import sharp from 'sharp';
import { createLogger } from '@imaging-facade/service-kit';
import { getRaw, serveOnLoopback, type LoopbackServer } from '../../../../test/support/http-from';
import { parseMultipart } from '../../../../test/support/dicomweb';
import { part10Layout, runPydicom, sample, SAMPLES } from '../../../../test/support/sample-files';
import { dicomwebErrorHandler } from '../http/errors';
import type { DicomwebDeps } from '../http/deps';
import type { InstanceRow, StudyRow } from '../index/study-index-db';
import { renderFrame } from './render';
import { wadoRoutes } from './routes';

/**
 * WADO-RS frames and Pixel Data bulk data through the real routes, over real files (pydicom's samples
 * and test/fixtures/sc-1bit-3x3-4frames.dcm), each answer compared with what pydicom reads: the
 * frames of a 1-bit multi-frame whose frames do not start on a byte; the bulk data of compressed
 * Pixel Data one frame a part, labelled with its transfer syntax, or decoded when asked.
 */

const ONE_BIT = path.join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'sc-1bit-3x3-4frames.dcm');
const RLE_2_FRAMES = sample('SC_rgb_rle_2frame.dcm');
const FILES = [ONE_BIT, RLE_2_FRAMES, SAMPLES.mrJpeg2000Lossless, SAMPLES.jpegExtended, SAMPLES.ctExplicitLittle];
const STUDY = '1.2.826.0.1.3680043.8.498.1';
const SERIES = `${STUDY}.1`;
const EXPLICIT = '1.2.840.10008.1.2.1';
const RLE = '1.2.840.10008.1.2.5';
const J2K_LOSSLESS = '1.2.840.10008.1.2.4.90';

const sopOf = (file: string): string => `${SERIES}.${FILES.indexOf(file) + 1}`;
const rowOf = (file: string): InstanceRow => ({
  studyUid: STUDY,
  seriesUid: SERIES,
  sopUid: sopOf(file),
  sopClassUid: part10Layout(file).sopClassUid,
  instanceNumber: 1,
  transferSyntaxUid: part10Layout(file).transferSyntaxUid,
  storagePath: path.relative('/', file),
  sizeBytes: null,
  metadata: '{}',
});

/** What pydicom reads, per file: each frame as stored (encapsulated: its codestream) and decoded, native little endian (1 bit: packed from bit 0). */
const pydicom = runPydicom<Record<string, { stored: string[]; decoded: string[] }>>(
  `
import json, sys, pydicom
from pydicom.encaps import generate_pixel_data_frame
from pydicom.pixel_data_handlers.util import pack_bits
out = {}
for name in sys.argv[1:]:
    ds = pydicom.dcmread(name)
    count = int(ds.get('NumberOfFrames', 1))
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        stored = [frame.hex() for frame in generate_pixel_data_frame(ds.PixelData, count)]
    else:
        stored = []
    try:
        pixels = ds.pixel_array
    except Exception:
        out[name] = {'stored': stored, 'decoded': []}
        continue
    frames = pixels if count > 1 else pixels[None]
    if ds.BitsAllocated == 1:
        decoded = [pack_bits(frame, pad=False).hex() for frame in frames]
    else:
        decoded = [frame.astype(frame.dtype.newbyteorder('<')).tobytes().hex() for frame in frames]
    out[name] = {'stored': stored, 'decoded': decoded}
print(json.dumps(out))
`,
  FILES,
);

let server: LoopbackServer;

/** The WADO routes on a loopback server, over these instances of one study, every token allowed. */
async function serveRoutes(rows: InstanceRow[]): Promise<LoopbackServer> {
  const study = { studyUid: STUDY } as StudyRow;
  const deps = {
    storageDir: '/',
    db: {
      study: (uid: string) => (uid === STUDY ? study : undefined),
      accessFactsOf: () => ({}),
      instancesOf: (_study: string, _series?: string, sop?: string) => rows.filter((row) => row.sopUid === sop),
    },
    access: { canSee: () => Promise.resolve(true) },
    frameCacheBytes: 64 * 1024 * 1024,
  } as unknown as DicomwebDeps;
  const app = express();
  app.use((_req, res, next) => {
    res.locals.principal = {};
    res.locals.audited = { interaction: 'retrieve', studies: [] };
    next();
  });
  app.use(wadoRoutes(deps));
  app.use(dicomwebErrorHandler(createLogger('wado-test', 'silent')));
  return serveOnLoopback(app);
}

beforeAll(async () => {
  const rows = FILES.map(rowOf);
  server = await serveRoutes(rows);
});

afterAll(() => server.close());

const instanceUrl = (file: string) => server.url(`/studies/${STUDY}/series/${SERIES}/instances/${sopOf(file)}`);

/** The parts of a multipart answer: each one's Content-Type and bytes (hex). */
async function partsOf(url: string, accept?: string): Promise<{ status: number; parts: Array<[string, string]> }> {
  const answer = await getRaw(url, accept ? { accept } : {});
  if (answer.status !== 200) return { status: answer.status, parts: [] };
  return {
    status: 200,
    parts: parseMultipart(String(answer.headers['content-type']), answer.bytes).map((part) => [part.headers['content-type'] ?? '', part.body.toString('hex')]),
  };
}

const octets = (syntax?: string) => `multipart/related; type="application/octet-stream"${syntax ? `; transfer-syntax=${syntax}` : ''}`;

describe('frames of a 1-bit multi-frame image (3×3 pixels, 4 frames: 9 bits each, packed one after the other)', () => {
  test.each([
    ['every frame, its 9 bits from bit 0 of its first byte, the rest of its last byte zero', '1,2,3,4', [1, 2, 3, 4]],
    ['the last frame, which starts in the middle of the 4th byte, is known', '4', [4]],
    ['frames asked out of order come in that order', '3,1', [3, 1]],
  ])('%s', async (_what, list, numbers) => {
    const { status, parts } = await partsOf(`${instanceUrl(ONE_BIT)}/frames/${list}`, octets());
    expect(status).toBe(200);
    expect(parts).toEqual(numbers.map((number) => [`application/octet-stream; transfer-syntax=${EXPLICIT}`, pydicom[ONE_BIT]?.decoded[number - 1]]));
  });
});

describe('bulk data of compressed Pixel Data: one part a frame, labelled with its transfer syntax, as the frames resource', () => {
  const stored = (file: string, syntax: string) => (pydicom[file]?.stored ?? []).map((frame) => [`application/octet-stream; transfer-syntax=${syntax}`, frame]);
  const decoded = (file: string) => (pydicom[file]?.decoded ?? []).map((frame) => [`application/octet-stream; transfer-syntax=${EXPLICIT}`, frame]);
  test.each([
    ['RLE, 2 frames, asked as stored (*): two RLE frames, not their fragments joined', RLE_2_FRAMES, octets('*'), () => stored(RLE_2_FRAMES, RLE)],
    ['RLE, 2 frames, asked in explicit VR little endian: two decoded frames', RLE_2_FRAMES, octets(EXPLICIT), () => decoded(RLE_2_FRAMES)],
    ['JPEG 2000 lossless, no Accept: the codestream, named JPEG 2000 (a part without transfer-syntax would mean uncompressed)', SAMPLES.mrJpeg2000Lossless, undefined, () => stored(SAMPLES.mrJpeg2000Lossless, J2K_LOSSLESS)],
    ['JPEG 2000 lossless, asked in explicit VR little endian: decoded', SAMPLES.mrJpeg2000Lossless, octets(EXPLICIT), () => decoded(SAMPLES.mrJpeg2000Lossless)],
  ])('%s', async (_what, file, accept, expected) => {
    const { status, parts } = await partsOf(`${instanceUrl(file)}/bulkdata/7FE00010`, accept);
    expect(status).toBe(200);
    expect(parts).toEqual(expected());
    expect(parts.length).toBeGreaterThan(0);
  });

  test('JPEG Extended asked in explicit VR little endian, which this node cannot decode: 406, not the codestream as if uncompressed', async () => {
    const { status } = await partsOf(`${instanceUrl(SAMPLES.jpegExtended)}/bulkdata/7fe00010`, octets(EXPLICIT));
    expect(status).toBe(406);
  });
});

describe('rendered frames of the 1-bit multi-frame (dcmjs-imaging, patched: patches/README.md)', () => {
  test.each([2, 3, 4])('frame %i, which starts inside a byte: its own pixels, as pydicom reads them', async (frame) => {
    const png = await renderFrame(readFileSync(ONE_BIT), { frame: frame - 1, mediaType: 'image/png' });
    const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([3, 3]);
    const drawn = [...data].map((grey) => (grey > 127 ? 1 : 0));
    const packed = Buffer.from(pydicom[ONE_BIT]?.decoded[frame - 1] ?? '', 'hex');
    expect(drawn).toEqual(drawn.map((_, pixel) => ((packed[pixel >> 3] ?? 0) >> (pixel % 8)) & 1));
  });
});

// A guard, not a fix: this passed before the change too.
test('native Pixel Data and other binary values are bulk data as before: the whole value in one part, little endian', async () => {
  const pixels = await partsOf(`${instanceUrl(SAMPLES.ctExplicitLittle)}/bulkdata/7FE00010`, octets());
  expect(pixels.parts).toEqual([['application/octet-stream', pydicom[SAMPLES.ctExplicitLittle]?.decoded[0]]]);
  const privateValue = await partsOf(`${instanceUrl(SAMPLES.ctExplicitLittle)}/bulkdata/00431028`, octets());
  const expected = runPydicom<string>('import json, sys, pydicom\nprint(json.dumps(pydicom.dcmread(sys.argv[1])[0x00431028].value.hex()))', [SAMPLES.ctExplicitLittle]);
  expect(privateValue.parts).toEqual([['application/octet-stream', expected]]);
});

describe('a viewer asking a multi-frame instance for its frames one by one', () => {
  test('gets them from one read of the instance while they are kept, and from a new read once its file is replaced', async () => {
    const copy = path.join(mkdtempSync(path.join(tmpdir(), 'frames-')), 'rle.dcm');
    copyFileSync(RLE_2_FRAMES, copy);
    // A time in whole seconds, that the file can be given again exactly.
    const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    utimesSync(copy, mtime, mtime);
    const row = { ...rowOf(RLE_2_FRAMES), storagePath: path.relative('/', copy) };
    const own = await serveRoutes([row]);
    try {
      const frame = async (number: number, syntax: string) => {
        const answer = await partsOf(own.url(`/studies/${STUDY}/series/${SERIES}/instances/${row.sopUid}/frames/${number}`), octets(syntax));
        return answer.status === 200 ? answer.parts[0]?.[1] : answer.status;
      };
      const { stored, decoded } = pydicom[RLE_2_FRAMES] as { stored: string[]; decoded: string[] };
      expect([await frame(1, '*'), await frame(1, EXPLICIT)]).toEqual([stored[0], decoded[0]]);

      // The file's bytes spoilt behind the cache's back (same size, same time): the frames still come from the one read.
      writeFileSync(copy, Buffer.alloc(statSync(copy).size));
      utimesSync(copy, mtime, mtime);
      expect([await frame(2, '*'), await frame(2, EXPLICIT)]).toEqual([stored[1], decoded[1]]);

      // The instance sent again replaces its file (a new time): it is read again.
      utimesSync(copy, new Date(), new Date(mtime.getTime() + 5000));
      expect(await frame(2, '*')).not.toBe(stored[1]);
    } finally {
      await own.close();
    }
  });
});
