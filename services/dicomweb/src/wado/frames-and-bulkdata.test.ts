import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import sharp from 'sharp';
import { readPart10, writeFileMetaHeader, writePart10, type DicomJson } from '@imaging-facade/dicom';
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
 * Pixel Data one frame a part, labelled with its transfer syntax, or decoded when asked. Each
 * twice: with instances read whole and their frames kept (these files are small), and with every
 * instance read by range (a frame cache of 0 bytes: as a large instance is read, frame by frame).
 */

const ONE_BIT = path.join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'sc-1bit-3x3-4frames.dcm');
const RLE_2_FRAMES = sample('SC_rgb_rle_2frame.dcm');
const FILES = [ONE_BIT, RLE_2_FRAMES, SAMPLES.mrJpeg2000Lossless, SAMPLES.jpegExtended, SAMPLES.ctExplicitLittle, SAMPLES.mrExplicitBig];
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
  // What the rendered resources look at: that the instance has pixels.
  metadata: JSON.stringify({ '7FE00010': { vr: 'OB' } }),
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

/** The two ways frames are read (./instance-frames), by the frame cache's size. */
const MODES = [
  ['read whole and kept', 64 * 1024 * 1024],
  ['read by range', 0],
] as const;
type Mode = (typeof MODES)[number][0];
const servers = new Map<Mode, LoopbackServer>();

/** The WADO routes on a loopback server, over these instances of one study, every token allowed. */
async function serveRoutes(rows: InstanceRow[], frameCacheBytes: number = 64 * 1024 * 1024): Promise<LoopbackServer> {
  const study = { studyUid: STUDY } as StudyRow;
  const deps = {
    storageDir: '/',
    db: {
      study: (uid: string) => (uid === STUDY ? study : undefined),
      accessFactsOf: () => ({}),
      instancesOf: (_study: string, _series?: string, sop?: string) => rows.filter((row) => row.sopUid === sop),
    },
    access: { canSee: () => Promise.resolve(true) },
    frameCacheBytes,
    rendering: { render: renderFrame, maxPixels: 40_000_000 },
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
  for (const [mode, frameCacheBytes] of MODES) servers.set(mode, await serveRoutes(rows, frameCacheBytes));
});

afterAll(() => Promise.all([...servers.values()].map((server) => server.close())));

const instanceUrl = (mode: Mode, file: string) => (servers.get(mode) as LoopbackServer).url(`/studies/${STUDY}/series/${SERIES}/instances/${sopOf(file)}`);

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

describe.each(MODES.map(([mode]) => mode))('frames of a 1-bit multi-frame image (3×3 pixels, 4 frames: 9 bits each, packed one after the other), %s', (mode) => {
  test.each([
    ['every frame, its 9 bits from bit 0 of its first byte, the rest of its last byte zero', '1,2,3,4', [1, 2, 3, 4]],
    ['the last frame, which starts in the middle of the 4th byte, is known', '4', [4]],
    ['frames asked out of order come in that order', '3,1', [3, 1]],
  ])('%s', async (_what, list, numbers) => {
    const { status, parts } = await partsOf(`${instanceUrl(mode, ONE_BIT)}/frames/${list}`, octets());
    expect(status).toBe(200);
    expect(parts).toEqual(numbers.map((number) => [`application/octet-stream; transfer-syntax=${EXPLICIT}`, pydicom[ONE_BIT]?.decoded[number - 1]]));
  });

  test('a frame the instance has not: 404, and 406 for a syntax its frames are not given in, before anything is read', async () => {
    expect((await partsOf(`${instanceUrl(mode, ONE_BIT)}/frames/2,5`, octets())).status).toBe(404);
    expect((await partsOf(`${instanceUrl(mode, SAMPLES.jpegExtended)}/frames/1`, octets(EXPLICIT))).status).toBe(406);
  });

  test('a compressed frame asked as stored or decoded: the codestream labelled with its syntax, or the decoded pixels', async () => {
    const { stored, decoded } = pydicom[RLE_2_FRAMES] as { stored: string[]; decoded: string[] };
    expect((await partsOf(`${instanceUrl(mode, RLE_2_FRAMES)}/frames/2,1`, octets('*'))).parts).toEqual([[`application/octet-stream; transfer-syntax=${RLE}`, stored[1]], [`application/octet-stream; transfer-syntax=${RLE}`, stored[0]]]);
    expect((await partsOf(`${instanceUrl(mode, RLE_2_FRAMES)}/frames/2`, octets(EXPLICIT))).parts).toEqual([[`application/octet-stream; transfer-syntax=${EXPLICIT}`, decoded[1]]]);
  });
});

describe.each(MODES.map(([mode]) => mode))('bulk data of compressed Pixel Data: one part a frame, labelled with its transfer syntax, as the frames resource, %s', (mode) => {
  const stored = (file: string, syntax: string) => (pydicom[file]?.stored ?? []).map((frame) => [`application/octet-stream; transfer-syntax=${syntax}`, frame]);
  const decoded = (file: string) => (pydicom[file]?.decoded ?? []).map((frame) => [`application/octet-stream; transfer-syntax=${EXPLICIT}`, frame]);
  test.each([
    ['RLE, 2 frames, asked as stored (*): two RLE frames, not their fragments joined', RLE_2_FRAMES, octets('*'), () => stored(RLE_2_FRAMES, RLE)],
    ['RLE, 2 frames, asked in explicit VR little endian: two decoded frames', RLE_2_FRAMES, octets(EXPLICIT), () => decoded(RLE_2_FRAMES)],
    ['JPEG 2000 lossless, no Accept: the codestream, named JPEG 2000 (a part without transfer-syntax would mean uncompressed)', SAMPLES.mrJpeg2000Lossless, undefined, () => stored(SAMPLES.mrJpeg2000Lossless, J2K_LOSSLESS)],
    ['JPEG 2000 lossless, asked in explicit VR little endian: decoded', SAMPLES.mrJpeg2000Lossless, octets(EXPLICIT), () => decoded(SAMPLES.mrJpeg2000Lossless)],
  ])('%s', async (_what, file, accept, expected) => {
    const { status, parts } = await partsOf(`${instanceUrl(mode, file)}/bulkdata/7FE00010`, accept);
    expect(status).toBe(200);
    expect(parts).toEqual(expected());
    expect(parts.length).toBeGreaterThan(0);
  });

  test('JPEG Extended asked in explicit VR little endian, which this node cannot decode: 406, not the codestream as if uncompressed', async () => {
    const { status } = await partsOf(`${instanceUrl(mode, SAMPLES.jpegExtended)}/bulkdata/7fe00010`, octets(EXPLICIT));
    expect(status).toBe(406);
  });
});

describe('rendered frames of the 1-bit multi-frame (dcmjs-imaging, patched: patches/README.md)', () => {
  /** The frame drawn black and white: 1 where it is white. */
  async function drawn(png: Buffer): Promise<number[]> {
    const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([3, 3]);
    return [...data].map((grey) => (grey > 127 ? 1 : 0));
  }
  const pydicomPixels = (frame: number): number[] => {
    const packed = Buffer.from(pydicom[ONE_BIT]?.decoded[frame - 1] ?? '', 'hex');
    return Array.from({ length: 9 }, (_, pixel) => ((packed[pixel >> 3] ?? 0) >> (pixel % 8)) & 1);
  };

  test.each([2, 3, 4])('frame %i, which starts inside a byte: its own pixels, as pydicom reads them', async (frame) => {
    expect(await drawn(await renderFrame(readFileSync(ONE_BIT), { frame: frame - 1, mediaType: 'image/png' }))).toEqual(pydicomPixels(frame));
  });

  test.each(MODES.flatMap(([mode]) => [2, 3, 4].map((frame) => [mode, frame] as const)))('%s, through the route: frame %i, its own pixels', async (mode, frame) => {
    const answer = await getRaw(`${instanceUrl(mode, ONE_BIT)}/frames/${frame}/rendered`, { accept: 'image/png' });
    expect(answer.status).toBe(200);
    expect(await drawn(answer.bytes)).toEqual(pydicomPixels(frame));
  });

  test.each(MODES.map(([mode]) => mode))('%s, through the route: a frame the instance has not is a 404', async (mode) => {
    expect((await getRaw(`${instanceUrl(mode, ONE_BIT)}/frames/5/rendered`, { accept: 'image/png' })).status).toBe(404);
  });
});

// A guard, not a fix: this passed before the change too (native Pixel Data is now read from the file piece after piece).
test.each(MODES.map(([mode]) => mode))('native Pixel Data and other binary values are bulk data as before: the whole value in one part, little endian (%s)', async (mode) => {
  const pixels = await partsOf(`${instanceUrl(mode, SAMPLES.ctExplicitLittle)}/bulkdata/7FE00010`, octets());
  expect(pixels.parts).toEqual([['application/octet-stream', pydicom[SAMPLES.ctExplicitLittle]?.decoded[0]]]);
  const bigEndian = await partsOf(`${instanceUrl(mode, SAMPLES.mrExplicitBig)}/bulkdata/7FE00010`, octets());
  expect(bigEndian.parts).toEqual([['application/octet-stream', pydicom[SAMPLES.mrExplicitBig]?.decoded[0]]]);
  const privateValue = await partsOf(`${instanceUrl(mode, SAMPLES.ctExplicitLittle)}/bulkdata/00431028`, octets());
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

const MiB = 1024 * 1024;

const ROWS = 512;
const NATIVE_FRAMES = 600;
const NATIVE_FRAME_BYTES = ROWS * ROWS * 2;
const COMPRESSED_FRAMES = 300;
const FRAGMENT_BYTES = MiB;

/** Bytes this process has read so far (files and sockets), as the kernel counts them. */
const bytesRead = (): number => Number(/rchar:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]);

/** What one request made the process read, and its answer. */
async function measured<T>(request: () => Promise<T>): Promise<{ read: number; answer: T }> {
  const before = bytesRead();
  const answer = await request();
  return { read: bytesRead() - before, answer };
}

/** A frame's bytes that no other frame has: its number, then a pattern. */
function frameBytes(frame: number, length: number, opening: number[] = []): Buffer {
  const bytes = Buffer.alloc(length);
  for (let at = 0; at < length; at += 4) bytes.writeUInt32LE(((frame + 1) * 2654435761 + at) >>> 0, at);
  Buffer.from(opening).copy(bytes);
  return bytes;
}

/** A Part 10 file's head (meta, then the dataset up to Pixel Data) in `transferSyntaxUid`. */
async function headOf(sopUid: string, transferSyntaxUid: string, frames: number, bitsAllocated: number): Promise<Buffer> {
  const dataset: DicomJson = {
    '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.13.1.3'] },
    '00080018': { vr: 'UI', Value: [sopUid] },
    '00280002': { vr: 'US', Value: [1] },
    '00280004': { vr: 'CS', Value: ['MONOCHROME2'] },
    '00280008': { vr: 'IS', Value: [frames] },
    '00280010': { vr: 'US', Value: [ROWS] },
    '00280011': { vr: 'US', Value: [ROWS] },
    '00280100': { vr: 'US', Value: [bitsAllocated] },
    '00280101': { vr: 'US', Value: [bitsAllocated === 16 ? 12 : 8] },
    '00280102': { vr: 'US', Value: [bitsAllocated === 16 ? 11 : 7] },
    '00280103': { vr: 'US', Value: [0] },
  };
  const written = writePart10({ sopClassUid: '1.2.840.10008.5.1.4.1.1.13.1.3', sopInstanceUid: sopUid, sourceAeTitle: 'TEST' }, dataset);
  const { datasetOffset } = await readPart10(written);
  return Buffer.concat([writeFileMetaHeader({ sopClassUid: '1.2.840.10008.5.1.4.1.1.13.1.3', sopInstanceUid: sopUid, transferSyntaxUid, sourceAeTitle: 'TEST' }), written.subarray(datasetOffset)]);
}

function element(tag: number, vr: string, length: number): Buffer {
  const header = Buffer.alloc(vr === '' ? 8 : 12);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  if (vr === '') {
    header.writeUInt32LE(length, 4);
  } else {
    header.write(vr, 4, 'latin1');
    header.writeUInt32LE(length, 8);
  }
  return header;
}

/** Bytes at positions of a sparse file of `size` bytes: what is not written is a hole. */
function writeSparse(file: string, size: number, pieces: ReadonlyArray<[position: number, bytes: Buffer]>): void {
  const fd = openSync(file, 'w');
  try {
    ftruncateSync(fd, size);
    for (const [position, bytes] of pieces) writeSync(fd, bytes, 0, bytes.length, position);
  } finally {
    closeSync(fd);
  }
}

/** Frames written in the files (from 0); the others are zeros. */
const WRITTEN_NATIVE = [0, 299, 599];
const WRITTEN_COMPRESSED = [0, 149, 299];

interface Made {
  native: string;
  withTable: string;
  withoutTable: string;
}

async function makeFiles(dir: string): Promise<Made> {
  const native = path.join(dir, 'tomosynthesis-native.dcm');
  const head = await headOf(`${SERIES}.101`, EXPLICIT, NATIVE_FRAMES, 16);
  const pixelsAt = head.length + 12;
  writeSparse(native, pixelsAt + NATIVE_FRAMES * NATIVE_FRAME_BYTES, [
    [0, Buffer.concat([head, element(0x7fe00010, 'OW', NATIVE_FRAMES * NATIVE_FRAME_BYTES)])],
    ...WRITTEN_NATIVE.map((frame): [number, Buffer] => [pixelsAt + frame * NATIVE_FRAME_BYTES, frameBytes(frame, NATIVE_FRAME_BYTES)]),
  ]);
  const compressed = async (name: string, sop: string, table: boolean): Promise<string> => {
    const file = path.join(dir, name);
    const head = await headOf(sop, J2K_LOSSLESS, COMPRESSED_FRAMES, 8);
    const offsets = Buffer.alloc(table ? 4 * COMPRESSED_FRAMES : 0);
    for (let frame = 0; frame < offsets.length / 4; frame++) offsets.writeUInt32LE(frame * (8 + FRAGMENT_BYTES), frame * 4);
    const start = Buffer.concat([head, element(0x7fe00010, 'OB', 0xffffffff), element(0xfffee000, '', offsets.length), offsets]);
    const itemAt = (frame: number): number => start.length + frame * (8 + FRAGMENT_BYTES);
    const end = itemAt(COMPRESSED_FRAMES);
    writeSparse(file, end + 8, [
      [0, start],
      // Every item's header, and the first two bytes of its value (a JPEG 2000 codestream's marker).
      ...Array.from({ length: COMPRESSED_FRAMES }, (_, frame): [number, Buffer] => [itemAt(frame), Buffer.concat([element(0xfffee000, '', FRAGMENT_BYTES), Buffer.from([0xff, 0x4f])])]),
      ...WRITTEN_COMPRESSED.map((frame): [number, Buffer] => [itemAt(frame) + 8, frameBytes(frame, FRAGMENT_BYTES, [0xff, 0x4f])]),
      [end, element(0xfffee0dd, '', 0)],
    ]);
    return file;
  };
  return {
    native,
    withTable: await compressed('cine-basic-offset-table.dcm', `${SERIES}.102`, true),
    withoutTable: await compressed('cine-no-offset-table.dcm', `${SERIES}.103`, false),
  };
}

/**
 * A viewer scrolling a large multi-frame instance (a breast tomosynthesis, a long cine): each frame
 * it asks is served from the frame's own bytes, not from the whole file. Three files of about 300 MB
 * are made in os.tmpdir() (sparse: the frames not looked at are holes, so they take no disk) and
 * removed after: native 16-bit frames of 512 × 512, and 1 MB compressed frames (one fragment each)
 * with a Basic Offset Table and without one. What the process reads meanwhile is counted by Linux
 * itself (`rchar` of /proc/self/io: every byte read from a file or a socket, the answer included);
 * before 2026-12-07 a frame of such a file read the whole file (about 300 MB), and eight at once
 * held as many copies.
 */
describe('a large multi-frame instance, read frame by frame', () => {
  let dir: string;
  let made: Made;
  let large: LoopbackServer;
  const frameUrl = (sop: string, list: string) => large.url(`/studies/${STUDY}/series/${SERIES}/instances/${sop}/frames/${list}`);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'large-instance-frames-'));
    made = await makeFiles(dir);
    const row = (file: string, sop: string, syntax: string): InstanceRow => ({
      ...rowOf(ONE_BIT),
      sopUid: sop,
      sopClassUid: '1.2.840.10008.5.1.4.1.1.13.1.3',
      transferSyntaxUid: syntax,
      storagePath: path.relative('/', file),
      metadata: JSON.stringify({ '00280010': { vr: 'US', Value: [ROWS] }, '00280011': { vr: 'US', Value: [ROWS] }, '7FE00010': { vr: 'OB' } }),
    });
    // The service's default frame cache, 256 MiB: less than any of these files.
    large = await serveRoutes([row(made.native, `${SERIES}.101`, EXPLICIT), row(made.withTable, `${SERIES}.102`, J2K_LOSSLESS), row(made.withoutTable, `${SERIES}.103`, J2K_LOSSLESS)], 256 * MiB);
  }, 60_000);

  afterAll(async () => {
    await large?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A digest of bytes: large frames compared without a byte-by-byte diff. */
  const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

  /** The frames of a multipart answer: each one's Content-Type and digest. */
  async function digestsOf(url: string, accept: string): Promise<Array<[string, string]>> {
    const answer = await getRaw(url, { accept });
    expect(answer.status).toBe(200);
    return parseMultipart(String(answer.headers['content-type']), answer.bytes).map((part) => [part.headers['content-type'] ?? '', digest(part.body)]);
  }

  test('the files are as large as said: about 300 MB each', () => {
    for (const file of Object.values(made)) expect(statSync(file).size).toBeGreaterThan(300 * 1000 * 1000);
  });

  describe('a native 16-bit tomosynthesis of 600 frames of 512 × 512 (315 MB)', () => {
    const sop = `${SERIES}.101`;

    test('its 300th frame is the frame\'s own bytes, read with under 2 MB read for a 512 KiB frame (the answer included)', async () => {
      const { read, answer } = await measured(() => digestsOf(frameUrl(sop, '300'), octets('*')));
      expect(answer).toEqual([[`application/octet-stream; transfer-syntax=${EXPLICIT}`, digest(frameBytes(299, NATIVE_FRAME_BYTES))]]);
      expect(read).toBeLessThan(2 * MiB);
    });

    test('three frames far apart, and one never written (zeros), each its own bytes; eight such requests at once read eight frames\' worth', async () => {
      const { read, answer } = await measured(() => digestsOf(frameUrl(sop, '600,1,2'), octets(EXPLICIT)));
      expect(answer.map(([, bytes]) => bytes)).toEqual([frameBytes(599, NATIVE_FRAME_BYTES), frameBytes(0, NATIVE_FRAME_BYTES), Buffer.alloc(NATIVE_FRAME_BYTES)].map(digest));
      expect(read).toBeLessThan(4 * MiB);
      const eight = await measured(() => Promise.all(Array.from({ length: 8 }, (_, request) => digestsOf(frameUrl(sop, String(100 + request)), octets('*')))));
      expect(eight.answer.map((parts) => parts.length)).toEqual(Array(8).fill(1));
      expect(eight.read).toBeLessThan(8 * 2 * MiB);
    });

    test('a frame rendered as PNG: decoded from that frame alone, the file not read', async () => {
      // The first rendering loads dcmjs-imaging's WebAssembly decoder (4 MB): not what is measured.
      expect((await getRaw(`${frameUrl(sop, '1')}/rendered`, { accept: 'image/png' })).status).toBe(200);
      const { read, answer } = await measured(() => getRaw(`${frameUrl(sop, '300')}/rendered`, { accept: 'image/png' }));
      expect(answer.status).toBe(200);
      const { info } = await sharp(answer.bytes).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([ROWS, ROWS]);
      expect(read).toBeLessThan(4 * MiB);
    });

    test('a frame past the last: 404, nothing read but the header', async () => {
      const { read, answer } = await measured(() => getRaw(frameUrl(sop, '601'), { accept: octets('*') }));
      expect(answer.status).toBe(404);
      expect(read).toBeLessThan(MiB);
    });
  });

  describe.each([
    // The table, and 8 bytes at each frame's start to check it.
    ['with a Basic Offset Table', `${SERIES}.102`, 4 * MiB],
    // The 300 items' headers walked once (a 64 KiB window read at each), then where the frames are kept.
    ['without an offset table', `${SERIES}.103`, 24 * MiB],
  ])('a cine of 300 compressed frames of 1 MiB %s (300 MB)', (_what, sop, firstRequestBytes) => {
    test('a frame asked as stored: its codestream, labelled with its syntax; the first request reads a few MB, the next ones their frames', async () => {
      const first = await measured(() => digestsOf(frameUrl(sop, '150'), octets('*')));
      expect(first.answer).toEqual([[`application/octet-stream; transfer-syntax=${J2K_LOSSLESS}`, digest(frameBytes(149, FRAGMENT_BYTES, [0xff, 0x4f]))]]);
      expect(first.read).toBeLessThan(firstRequestBytes);
      const next = await measured(() => digestsOf(frameUrl(sop, '300,1'), octets('*')));
      expect(next.answer.map(([, bytes]) => bytes)).toEqual([frameBytes(299, FRAGMENT_BYTES, [0xff, 0x4f]), frameBytes(0, FRAGMENT_BYTES, [0xff, 0x4f])].map(digest));
      expect(next.read).toBeLessThan(5 * MiB);
    });
  });
});
