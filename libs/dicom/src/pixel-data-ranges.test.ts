import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { toExplicitVrLittleEndian } from './explicit-little-endian';
import { readPart10, readPart10Head } from './part10';
import { MalformedPixelDataError, NoPixelDataError, readBulkData, readPixelFrames } from './pixel-data';
import { indexPixelData, nativePixelData, readFrames, singleFramePart10, type PixelDataIndex } from './pixel-data-ranges';
import { runPydicom, sample, SYSTEM_PYTHON } from '../../../test/support/sample-files';

/**
 * Frames read by range (`indexPixelData`, then `readFrames`) against pydicom's frames and against
 * the whole-file reader (`readPixelFrames`), on pydicom's real samples and on multi-frame files
 * made here by pydicom and DCMTK: native in the three uncompressed syntaxes, 1 bit a pixel (frames
 * that start inside a byte), and encapsulated with an Extended Offset Table, a Basic one or none,
 * a frame in one fragment or in several.
 */

const ONE_BIT_FIXTURE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'sc-1bit-3x3-4frames.dcm');
const hex = (frames: readonly Uint8Array[]): string[] => frames.map((frame) => Buffer.from(frame).toString('hex'));
const every = (index: PixelDataIndex): number[] => Array.from({ length: index.frameCount }, (_, frame) => frame);

async function indexOf(file: string): Promise<PixelDataIndex> {
  const index = await indexPixelData(file);
  if (index === undefined) throw new Error(`${file} is deflated`);
  return index;
}

/** Every frame read alone, last first: no frame depends on another having been read. */
async function oneByOne(index: PixelDataIndex, littleEndian = false): Promise<Uint8Array[]> {
  const frames: Uint8Array[] = [];
  for (const frame of every(index).reverse()) frames.unshift(...(await readFrames(index, [frame], { littleEndian })));
  return frames;
}

/**
 * What pydicom reads of each file: `stored`, each compressed frame's bitstream; `native`, each native
 * frame little endian (1 bit: packed from bit 0); `found`, how the frames of encapsulated Pixel Data
 * are found (extended / basic offset table, fragments).
 */
const PYDICOM_FRAMES = `
import json, sys, pydicom
from pydicom.encaps import generate_pixel_data_frame
from pydicom.pixel_data_handlers.util import pack_bits
out = {}
for name in sys.argv[1:]:
    ds = pydicom.dcmread(name)
    count = int(ds.get('NumberOfFrames', 1) or 1)
    entry = {'stored': [], 'native': []}
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        entry['stored'] = [frame.hex() for frame in generate_pixel_data_frame(ds.PixelData, count)]
    elif ds.PhotometricInterpretation != 'YBR_FULL_422':
        frames = ds.pixel_array if count > 1 else ds.pixel_array[None]
        if ds.BitsAllocated == 1:
            entry['native'] = [pack_bits(frame, pad=False).hex() for frame in frames]
        else:
            entry['native'] = [frame.astype(frame.dtype.newbyteorder('<')).tobytes().hex() for frame in frames]
    out[name] = entry
print(json.dumps(out))
`;

const SAMPLE_FILES = [
  'CT_small.dcm',
  'MR_small.dcm',
  'MR_small_implicit.dcm',
  'MR_small_bigendian.dcm',
  'MR_small_expb.dcm',
  'MR_small_padded.dcm',
  'MR_small_RLE.dcm',
  'MR_small_jpeg_ls_lossless.dcm',
  'MR_small_jp2klossless.dcm',
  'JPEG2000.dcm',
  'JPGExtended.dcm',
  'SC_rgb_jpeg_dcmtk.dcm',
  'SC_rgb_jpeg_gdcm.dcm',
  'SC_rgb_rle_2frame.dcm',
  'SC_rgb_rle_16bit_2frame.dcm',
  'SC_rgb_rle_32bit_2frame.dcm',
  'SC_rgb_small_odd.dcm',
  'SC_ybr_full_422_uncompressed.dcm',
  'liver_1frame.dcm',
  'liver_expb_1frame.dcm',
  'rtdose.dcm',
  'rtdose_expb.dcm',
  'rtdose_rle.dcm',
].map(sample);

describe('frames read by range from pydicom\'s samples: those of the whole-file reader and of pydicom', () => {
  const files = [...SAMPLE_FILES, ONE_BIT_FIXTURE];
  const pydicom = runPydicom<Record<string, { stored: string[]; native: string[] }>>(PYDICOM_FRAMES, files);

  test.each(files.map((file) => [path.basename(file), file]))('%s', async (_name, file) => {
    const index = await indexOf(file);
    const whole = await readPixelFrames(file);
    const expected = pydicom[file] as { stored: string[]; native: string[] };
    expect(index.frameCount).toBe(whole.frames.length);
    expect([index.transferSyntaxUid, index.encapsulated]).toEqual([whole.transferSyntaxUid, whole.encapsulated]);
    expect(hex(await readFrames(index, every(index)))).toEqual(hex(whole.frames));
    expect(hex(await oneByOne(index))).toEqual(hex(whole.frames));
    if (index.encapsulated) {
      expect(hex(await oneByOne(index))).toEqual(expected.stored);
    } else if (expected.native.length > 0) {
      // Big endian swapped as Explicit VR Little Endian holds it: pydicom's pixels, little endian.
      expect(hex(await oneByOne(index, true))).toEqual(expected.native);
    }
  });

  test('a deflated dataset is not indexed (it cannot be read by range); a file without Pixel Data is told apart', async () => {
    await expect(indexPixelData(sample('image_dfl.dcm'))).resolves.toBeUndefined();
    await expect(indexPixelData(sample('rtplan.dcm'))).rejects.toThrow(NoPixelDataError);
  });

  test('native Pixel Data without Rows and Columns has no frames, but its value is still its bulk data (nested_priv_SQ)', async () => {
    const index = await indexOf(sample('nested_priv_SQ.dcm'));
    await expect(readFrames(index, [0])).rejects.toThrow(MalformedPixelDataError);
    const pieces: Uint8Array[] = [];
    for await (const piece of nativePixelData(index)) pieces.push(piece);
    const value = runPydicom<string>('import json, sys, pydicom\nprint(json.dumps(pydicom.dcmread(sys.argv[1]).PixelData.hex()))', [sample('nested_priv_SQ.dcm')]);
    expect(Buffer.concat(pieces).toString('hex')).toBe(value);
  });

  test('a File Meta Information longer than the 64 KiB read first (a 100 KB Private Information): the head is read further', async () => {
    const original = readFileSync(sample('MR_small.dcm'));
    const { datasetOffset } = await readPart10(original);
    const privateInformation = Buffer.concat([Buffer.from([0x02, 0x00, 0x02, 0x01, 0x4f, 0x42, 0, 0]), Buffer.alloc(4), Buffer.alloc(100_000, 0x2a)]);
    privateInformation.writeUInt32LE(100_000, 8);
    const file = Buffer.concat([original.subarray(0, datasetOffset), privateInformation, original.subarray(datasetOffset)]);
    // (0002,0000) File Meta Information Group Length, the first element after "DICM".
    file.writeUInt32LE(file.readUInt32LE(140) + privateInformation.length, 140);
    const dir = mkdtempSync(path.join(tmpdir(), 'long-meta-'));
    writeFileSync(path.join(dir, 'long-meta.dcm'), file);
    const head = await readPart10Head(path.join(dir, 'long-meta.dcm'));
    expect([head.datasetOffset, head.transferSyntaxUid]).toEqual([datasetOffset + privateInformation.length, '1.2.840.10008.1.2.1']);
    expect(hex(await readFrames(await indexOf(path.join(dir, 'long-meta.dcm')), [0]))).toEqual(hex((await readPixelFrames(sample('MR_small.dcm'))).frames));
    rmSync(dir, { recursive: true });
  });

  test('a file cut in the middle of its Pixel Data: an error, not frames of what is missing', async () => {
    await expect(indexPixelData(sample('MR_truncated.dcm'))).rejects.toThrow(MalformedPixelDataError);
  });
});

/**
 * Multi-frame files made for these tests (in os.tmpdir(), removed after): native 16-bit signed and
 * 8-bit RGB of odd sizes, a 1-bit one of 5×5 pixels (25 bits a frame, so all but the first frame
 * start inside a byte), each also in implicit VR and big endian (dcmconv); RLE and JPEG-LS (DCMTK)
 * with and without a Basic Offset Table, JPEG-LS in 1 KB fragments (several a frame); JPEG 2000
 * (Pillow's OpenJPEG) with an Extended Offset Table, with a Basic one, and with neither.
 */
const GENERATE = `
import io, sys
from struct import pack
import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, encapsulate_extended
from pydicom.pixel_data_handlers.util import pack_bits

out = sys.argv[1]
ROOT = '2.25.99713260416578204717346623046813411'

def dataset(number, rows, columns, frames, samples, bits, photometric, signed=0):
    ds = Dataset()
    ds.SOPClassUID = '1.2.840.10008.5.1.4.1.1.7.2' if bits > 1 else '1.2.840.10008.5.1.4.1.1.7.1'
    ds.SOPInstanceUID = f'{ROOT}.{number}'
    ds.StudyInstanceUID = f'{ROOT}.100'
    ds.SeriesInstanceUID = f'{ROOT}.101'
    ds.Modality = 'OT'
    ds.PatientName = 'Frames^Ranges'
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
    ds.NumberOfFrames = frames
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = bits
    ds.BitsStored = bits if bits != 16 else 12
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = signed
    return ds

def save(ds, name, syntax):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = '2.25.300474212335498227233713430542009218017'
    ds.file_meta = meta
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.preamble = b'\\0' * 128
    ds.save_as(f'{out}/{name}', write_like_original=False)

rng = np.random.default_rng(7)
mr = dataset(1, 30, 41, 6, 1, 16, 'MONOCHROME2', 1)
pixels = rng.integers(-2048, 2047, size=(6, 30, 41), dtype=np.int16)
mr.PixelData = pixels.astype('<i2').tobytes()
save(mr, 'mr-16bit.dcm', '1.2.840.10008.1.2.1')

rgb = dataset(2, 13, 17, 3, 3, 8, 'RGB')
rgb.PixelData = rng.integers(0, 255, size=(3, 13, 17, 3), dtype=np.uint8).tobytes() + b'\\0'
save(rgb, 'rgb-8bit.dcm', '1.2.840.10008.1.2.1')

onebit = dataset(3, 5, 5, 7, 1, 1, 'MONOCHROME2')
packed = pack_bits(rng.integers(0, 2, size=(7, 5, 5), dtype=np.uint8))
onebit.PixelData = packed + (b'\\0' if len(packed) % 2 else b'')
onebit['PixelData'].VR = 'OB'
save(onebit, 'onebit.dcm', '1.2.840.10008.1.2.1')

# 1.5 MB of native pixels: Pixel Data's bulk data is read in more than one piece.
large = dataset(4, 256, 256, 12, 1, 16, 'MONOCHROME2')
large.PixelData = rng.integers(0, 4095, size=(12, 256, 256), dtype=np.uint16).astype('<u2').tobytes()
save(large, 'native-1.5mb.dcm', '1.2.840.10008.1.2.1')

def j2k(frame):
    encoded = io.BytesIO()
    Image.fromarray(frame).save(encoded, format='JPEG2000', irreversible=False, no_jp2=True)
    return encoded.getvalue()

grey = rng.integers(0, 255, size=(5, 24, 32), dtype=np.uint8)
codestreams = [j2k(frame) for frame in grey]
for name, has_bot in (('j2k-basic-table.dcm', True), ('j2k-no-table.dcm', False)):
    ds = dataset(5 if has_bot else 6, 24, 32, 5, 1, 8, 'MONOCHROME2')
    ds.PixelData = encapsulate(codestreams, has_bot=has_bot)
    ds['PixelData'].VR = 'OB'
    ds['PixelData'].is_undefined_length = True
    save(ds, name, '1.2.840.10008.1.2.4.90')
# The offsets of the items (each value padded to an even length), the lengths of the codestreams.
lengths = [len(codestream) for codestream in codestreams]
offsets = [sum(8 + length + length % 2 for length in lengths[:frame]) for frame in range(len(lengths))]
assert any(length % 2 for length in lengths)
tables = {
    'j2k-extended-table.dcm': (pack('<5Q', *offsets), pack('<5Q', *lengths)),
    # pydicom 2.3 leaves the padding of odd frames out of its offsets: they miss the items.
    'j2k-extended-table-pydicom23.dcm': encapsulate_extended(codestreams)[1:],
}
for number, (name, (table, table_lengths)) in enumerate(tables.items()):
    ds = dataset(7 + number, 24, 32, 5, 1, 8, 'MONOCHROME2')
    ds.PixelData = encapsulate(codestreams, has_bot=False)
    ds['PixelData'].VR = 'OB'
    ds['PixelData'].is_undefined_length = True
    ds.ExtendedOffsetTable = table
    ds.ExtendedOffsetTableLengths = table_lengths
    save(ds, name, '1.2.840.10008.1.2.4.90')
`;

/** Generated file → how its encapsulated frames are found (undefined: native). */
const GENERATED: Record<string, 'extended offset table' | 'basic offset table' | 'fragments walked' | undefined> = {
  'mr-16bit.dcm': undefined,
  'mr-16bit-implicit.dcm': undefined,
  'mr-16bit-big.dcm': undefined,
  'rgb-8bit.dcm': undefined,
  'rgb-8bit-big.dcm': undefined,
  'onebit.dcm': undefined,
  'onebit-implicit.dcm': undefined,
  'onebit-big.dcm': undefined,
  'native-1.5mb.dcm': undefined,
  'native-1.5mb-big.dcm': undefined,
  'mr-16bit-rle-basic-table.dcm': 'basic offset table',
  'mr-16bit-rle-no-table.dcm': 'fragments walked',
  'mr-16bit-jpegls-basic-table.dcm': 'basic offset table',
  'mr-16bit-jpegls-1kb-fragments-basic-table.dcm': 'basic offset table',
  'mr-16bit-jpegls-1kb-fragments-no-table.dcm': 'fragments walked',
  'rgb-8bit-jpegls-no-table.dcm': 'fragments walked',
  'j2k-extended-table.dcm': 'extended offset table',
  'j2k-extended-table-pydicom23.dcm': 'fragments walked',
  'j2k-basic-table.dcm': 'basic offset table',
  'j2k-no-table.dcm': 'fragments walked',
};

describe('frames read by range from generated multi-frame files', () => {
  let dir: string;
  const at = (name: string): string => path.join(dir, name);
  let pydicom: Record<string, { stored: string[]; native: string[] }>;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pixel-data-ranges-'));
    execFileSync(SYSTEM_PYTHON, ['-c', GENERATE, dir]);
    const dcmtk = (tool: string, args: string[], from: string, to: string) => execFileSync(tool, [...args, at(from), at(to)]);
    for (const name of ['mr-16bit', 'onebit']) dcmtk('dcmconv', ['+ti'], `${name}.dcm`, `${name}-implicit.dcm`);
    for (const name of ['mr-16bit', 'rgb-8bit', 'onebit', 'native-1.5mb']) dcmtk('dcmconv', ['+tb'], `${name}.dcm`, `${name}-big.dcm`);
    dcmtk('dcmcrle', [], 'mr-16bit.dcm', 'mr-16bit-rle-basic-table.dcm');
    dcmtk('dcmcrle', ['-ot'], 'mr-16bit.dcm', 'mr-16bit-rle-no-table.dcm');
    dcmtk('dcmcjpls', [], 'mr-16bit.dcm', 'mr-16bit-jpegls-basic-table.dcm');
    dcmtk('dcmcjpls', ['+fs', '1'], 'mr-16bit.dcm', 'mr-16bit-jpegls-1kb-fragments-basic-table.dcm');
    dcmtk('dcmcjpls', ['+fs', '1', '-ot'], 'mr-16bit.dcm', 'mr-16bit-jpegls-1kb-fragments-no-table.dcm');
    dcmtk('dcmcjpls', ['-ot'], 'rgb-8bit.dcm', 'rgb-8bit-jpegls-no-table.dcm');
    pydicom = runPydicom(PYDICOM_FRAMES, Object.keys(GENERATED).map(at));
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each(Object.entries(GENERATED))('%s: found by %s, each frame pydicom\'s and the whole-file reader\'s', async (name, found) => {
    const index = await indexOf(at(name));
    const whole = await readPixelFrames(at(name));
    const expected = pydicom[at(name)] as { stored: string[]; native: string[] };
    expect(index.layout.kind === 'encapsulated' ? index.layout.found : undefined).toBe(found);
    expect(index.frameCount).toBeGreaterThan(1);
    expect(hex(await oneByOne(index))).toEqual(hex(whole.frames));
    expect(hex(await readFrames(index, every(index)))).toEqual(hex(whole.frames));
    expect(hex(await oneByOne(index, !index.encapsulated))).toEqual(index.encapsulated ? expected.stored : expected.native);
  });

  test('a 1-bit frame that starts inside a byte is read from its own bytes: the 4th of 25-bit frames starts at bit 3 of byte 9', async () => {
    const index = await indexOf(at('onebit.dcm'));
    expect(index.layout).toMatchObject({ kind: 'native', frameBits: 25 });
    const [fourth] = await readFrames(index, [3]);
    expect(Buffer.from(fourth as Uint8Array).toString('hex')).toBe((pydicom[at('onebit.dcm')] as { native: string[] }).native[3]);
  });

  test('frames asked in any order, a frame twice, come in that order', async () => {
    const index = await indexOf(at('j2k-extended-table.dcm'));
    const all = await readFrames(index, every(index));
    expect(hex(await readFrames(index, [4, 0, 4, 2]))).toEqual(hex([all[4], all[0], all[4], all[2]] as Uint8Array[]));
    await expect(readFrames(index, [5])).rejects.toThrow(RangeError);
  });

  test('tables that do not fit Number of Frames are not believed: the items are walked, and 5 one-fragment frames cannot be 4 (an error)', async () => {
    const file = readFileSync(at('j2k-extended-table.dcm'));
    // Number of Frames "5" made "4": the tables hold 5 entries, so neither is believed (and 5 one-fragment frames cannot be 4).
    const at5 = file.indexOf(Buffer.from([0x28, 0x00, 0x08, 0x00, 0x49, 0x53, 0x02, 0x00]));
    file.write('4 ', at5 + 8, 'latin1');
    writeFileSync(at('j2k-extended-table-4-frames.dcm'), file);
    await expect(indexPixelData(at('j2k-extended-table-4-frames.dcm'))).rejects.toThrow(MalformedPixelDataError);
  });

  test('the bulk data of native Pixel Data, read piece after piece: the whole value, big endian swapped when asked', async () => {
    for (const name of ['native-1.5mb.dcm', 'native-1.5mb-big.dcm', 'onebit-big.dcm', 'mr-16bit-big.dcm']) {
      const file = at(name);
      const pieces: Uint8Array[] = [];
      for await (const piece of nativePixelData(await indexOf(file), { littleEndian: true })) pieces.push(piece);
      const expected = await readBulkData(toExplicitVrLittleEndian(readFileSync(file)), ['7FE00010']);
      expect(Buffer.concat(pieces).equals(Buffer.from(expected as Uint8Array))).toBe(true);
      if (name === 'native-1.5mb.dcm') expect(pieces.length).toBe(2);
    }
  });

  describe('a single-frame copy of an instance, for a renderer that reads whole files (singleFramePart10)', () => {
    /** pydicom on each copy against the original: the same attributes but Number of Frames (1), the frame's pixels (or its bitstream where pydicom has no decoder). */
    const COMPARE = `
import json, sys, pydicom
from pydicom.encaps import generate_pixel_data_frame
out = []
args = sys.argv[1:]
for original_name, frame, copy_name in zip(args[0::3], args[1::3], args[2::3]):
    frame = int(frame)
    original, copy = pydicom.dcmread(original_name), pydicom.dcmread(copy_name)
    differences = []
    left_out = {'NumberOfFrames', 'PixelData', 'ExtendedOffsetTable', 'ExtendedOffsetTableLengths'}
    for element in original:
        if element.keyword not in left_out and (element.tag not in copy or copy[element.tag].value != element.value):
            differences.append(element.keyword)
    if copy.NumberOfFrames != 1 or 'ExtendedOffsetTable' in copy:
        differences.append('NumberOfFrames or ExtendedOffsetTable')
    syntax = original.file_meta.TransferSyntaxUID
    if syntax == '1.2.840.10008.1.2.4.80':
        if next(generate_pixel_data_frame(copy.PixelData, 1)) != list(generate_pixel_data_frame(original.PixelData, int(original.NumberOfFrames)))[frame]:
            differences.append('bitstream')
    elif (copy.pixel_array != original.pixel_array[frame]).any():
        differences.append('pixels')
    out.append(differences)
print(json.dumps(out))
`;
    test.each([
      'mr-16bit.dcm',
      'mr-16bit-implicit.dcm',
      'mr-16bit-big.dcm',
      'rgb-8bit-big.dcm',
      'onebit.dcm',
      'onebit-big.dcm',
      'mr-16bit-rle-no-table.dcm',
      'mr-16bit-jpegls-1kb-fragments-basic-table.dcm',
      'j2k-extended-table.dcm',
      'j2k-basic-table.dcm',
    ])('%s: every frame, as pydicom reads it from the original', async (name) => {
      const index = await indexOf(at(name));
      const args: string[] = [];
      for (const frame of every(index)) {
        const copy = at(`${name}-frame-${frame}.dcm`);
        writeFileSync(copy, await singleFramePart10(index, frame));
        args.push(at(name), String(frame), copy);
      }
      expect(runPydicom<string[][]>(COMPARE, args)).toEqual(every(index).map(() => []));
    });
  });
});

/**
 * Offset tables that do not describe the items (crafted, or written wrong): a table is believed only
 * where it names the items a walk of their headers finds. Each file holds three JPEG fragments, one
 * a frame; the frames must be those fragments, whatever the table says (readers that follow the
 * table, dcmjs's and pydicom's among them, serve the bytes it points at).
 */
const LYING_TABLES = `
import struct, sys, pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import generate_uid, JPEGBaseline8Bit
out = sys.argv[1]
A = b'\\xff\\xd8AAAAAAAAAA\\xff\\xd9'
C = b'\\xff\\xd8CCCCCCCCCC\\xff\\xd9'
# Bytes of an item header inside a fragment (FE FF 00 E0 occurs in JPEG data: FF 00 is byte stuffing).
FAKE_MIDDLE = b'\\xff\\xd8BB\\xfe\\xff\\x00\\xe0\\x02\\x00\\x00\\x00ZZ'
FAKE_LAST = b'\\xff\\xd8CC\\xfe\\xff\\x00\\xe0\\x02\\x00\\x00\\x00ZZCC\\xff\\xd9'
def items(fragments, table):
    body = struct.pack('<HHI', 0xfffe, 0xe000, 4 * len(table)) + b''.join(struct.pack('<I', o) for o in table)
    for f in fragments: body += struct.pack('<HHI', 0xfffe, 0xe000, len(f)) + f
    return body + struct.pack('<HHI', 0xfffe, 0xe0dd, 0)
def starts(fragments):
    o = [0]
    for f in fragments: o.append(o[-1] + 8 + len(f))
    return o
def save(name, fragments, table=(), extended=None):
    ds = Dataset(); ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.7'; ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID; ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.is_little_endian = True; ds.is_implicit_VR = False
    ds.Rows = 4; ds.Columns = 4; ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = 'MONOCHROME2'
    ds.BitsAllocated = 8; ds.BitsStored = 8; ds.HighBit = 7; ds.PixelRepresentation = 0; ds.NumberOfFrames = len(fragments)
    if extended:
        ds.ExtendedOffsetTable = b''.join(struct.pack('<Q', o) for o in extended[0])
        ds.ExtendedOffsetTableLengths = b''.join(struct.pack('<Q', n) for n in extended[1])
    ds.PixelData = items(fragments, table); ds['PixelData'].VR = 'OB'; ds['PixelData'].is_undefined_length = True
    ds.save_as(out + '/' + name + '.dcm', write_like_original=False)
B = b'\\xff\\xd8BBBBBBBBBBBBBB\\xff\\xd9'
o = starts([A, B, C])
save('extended-lengths-overlapping', [A, B, C], extended=(o[:3], [len(A) + 8 + len(B), len(B), len(C)]))
o = starts([A, FAKE_MIDDLE, C])
save('basic-entry-on-fake-header-in-a-frame', [A, FAKE_MIDDLE, C], table=[o[0], o[1] + 8 + 4, o[2]])
o = starts([A, B, FAKE_LAST])
save('basic-entry-on-fake-header-in-the-last', [A, B, FAKE_LAST], table=[o[0], o[1], o[2] + 8 + 4])
save('basic-entries-out-of-order', [A, B, C], table=[o[0], o[2], o[1]])
`;

describe('offset tables that do not name the items are not believed', () => {
  let dir: string;
  const A = 'ffd8' + '41'.repeat(10) + 'ffd9';
  const B = 'ffd8' + '42'.repeat(14) + 'ffd9';
  const C = 'ffd8' + '43'.repeat(10) + 'ffd9';
  const FAKE_MIDDLE = 'ffd84242feff00e0020000005a5a';
  const FAKE_LAST = 'ffd84343feff00e0020000005a5a4343ffd9';

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pixel-data-tables-'));
    execFileSync(SYSTEM_PYTHON, ['-c', LYING_TABLES, dir]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['extended-lengths-overlapping', [A, B, C]],
    ['basic-entry-on-fake-header-in-a-frame', [A, FAKE_MIDDLE, C]],
    ['basic-entry-on-fake-header-in-the-last', [A, B, FAKE_LAST]],
    ['basic-entries-out-of-order', [A, B, C]],
  ])('%s: each frame is its own fragment, read alone or all at once', async (name, fragments) => {
    const file = path.join(dir, `${name}.dcm`);
    const index = await indexOf(file);
    expect(index.layout.kind === 'encapsulated' ? index.layout.found : undefined).toBe('fragments walked');
    expect(hex(await oneByOne(index))).toEqual(fragments);
    expect(hex(await readFrames(index, every(index)))).toEqual(fragments);
  });
});
