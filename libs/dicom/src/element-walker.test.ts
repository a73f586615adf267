import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { FileByteSource, InflatingByteSource, TruncatedDatasetError, type ByteSource } from './byte-source';
import { datasetEncoding, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, type DatasetEncoding } from './dataset-encoding';
import { collectElements, collectElementsBefore, collectElementsSync, encapsulatedItems, encapsulatedItemsSync, type ExtraElements } from './element-walker';
import { part10Layout, runPydicom, sample } from '../../../test/support/sample-files';

/**
 * The walk gives the same elements, or fails with the same error, whether the dataset is in memory
 * (collectElementsSync) or read through a ByteSource that hands it over in windows of any size:
 * from a file with or without its head in memory, or a few bytes at a time, so that the walk stops
 * and resumes at every kind of place (inside a header, a value, an item, a nested sequence).
 */

/** A dataset in memory handed over `length` bytes at a time, exactly what the walk asks for. */
class TrickleByteSource implements ByteSource {
  private position = 0;

  constructor(private readonly bytes: Buffer) {}

  async readAtLeast(length: number): Promise<Buffer> {
    if (this.position + length > this.bytes.length) {
      throw new TruncatedDatasetError();
    }
    this.position += length;
    return this.bytes.subarray(this.position - length, this.position);
  }

  async skip(length: number): Promise<void> {
    if (this.position + length > this.bytes.length) {
      throw new TruncatedDatasetError();
    }
    this.position += length;
  }

  async atEnd(): Promise<boolean> {
    return this.position >= this.bytes.length;
  }

  async close(): Promise<void> {}
}

interface WalkCase {
  situation: string;
  dataset: Buffer;
  encoding: DatasetEncoding;
}

/** What a walk gave: the elements kept and the extra elements left out, or the error it failed with. */
type Outcome = { elements: string; omitted: number[] } | { error: string };

const WANTED: ReadonlySet<number> = new Set([
  0x00080005, 0x00080016, 0x00080018, 0x00100010, 0x0020000d, 0x00081140, 0x300a00b0, 0x7fe00010,
]);

/** Content Sequence and others for every SOP class, kept up to 2 KB: the limit is met by some. */
function extraElements(omitted: number[]): ExtraElements {
  return {
    forSopClass: () => new Set([0x0040a730, 0x00540016, 0x0040a043, 0x00081111, 0x00540220]),
    maxBytes: 2048,
    omitted: (tag) => omitted.push(tag),
  };
}

async function outcome(walk: (extra: ExtraElements) => Buffer | Promise<Buffer>): Promise<Outcome> {
  const omitted: number[] = [];
  try {
    return { elements: (await walk(extraElements(omitted))).toString('hex'), omitted };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'element-walker-'));
});

/** The same walk through each kind of ByteSource, labelled. */
async function asyncOutcomes({ dataset, encoding }: WalkCase, toEnd: boolean): Promise<Record<string, Outcome>> {
  const file = path.join(dir, 'dataset');
  // Behind 5 bytes of something else: the dataset's range starts inside the file.
  await writeFile(file, Buffer.concat([Buffer.from('12345'), dataset]));
  const sources: Record<string, () => ByteSource> = {
    'file, nothing in memory': () => new FileByteSource(file, 5, 5 + dataset.length),
    'file, 7 bytes in memory': () => new FileByteSource(file, 5, 5 + dataset.length, dataset.subarray(0, 7)),
    'file, 301 bytes in memory': () => new FileByteSource(file, 5, 5 + dataset.length, dataset.subarray(0, 301)),
    'file, all in memory': () => new FileByteSource(file, 5, 5 + dataset.length, dataset),
    'a few bytes at a time': () => new TrickleByteSource(dataset),
  };
  const outcomes: Record<string, Outcome> = {};
  for (const [label, open] of Object.entries(sources)) {
    const source = open();
    outcomes[label] = await outcome((extra) => collectElements(source, encoding, WANTED, extra, { toEnd }));
    await source.close();
  }
  return outcomes;
}

/** A Part 10 sample's dataset, as its transfer syntax encodes it. */
function sampleDataset(file: string): WalkCase {
  const bytes = readFileSync(sample(file));
  const layout = part10Layout(sample(file));
  return { situation: file, dataset: bytes.subarray(layout.datasetOffset), encoding: datasetEncoding(layout.transferSyntaxUid) };
}

const explicitLittle = datasetEncoding(EXPLICIT_VR_LITTLE_ENDIAN);
const implicitLittle = datasetEncoding(IMPLICIT_VR_LITTLE_ENDIAN);

function header(tag: number, vr: string, length: number): Buffer {
  const long = !['CS', 'UI', 'LO', 'PN', 'US', 'UL', 'SH', 'DA'].includes(vr);
  const bytes = Buffer.alloc(long ? 12 : 8);
  bytes.writeUInt16LE(tag >>> 16, 0);
  bytes.writeUInt16LE(tag & 0xffff, 2);
  bytes.write(vr, 4, 'latin1');
  if (long) {
    bytes.writeUInt32LE(length, 8);
  } else {
    bytes.writeUInt16LE(length, 6);
  }
  return bytes;
}

function implicitHeader(tag: number, length: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt16LE(tag >>> 16, 0);
  bytes.writeUInt16LE(tag & 0xffff, 2);
  bytes.writeUInt32LE(length, 4);
  return bytes;
}

const UNDEFINED = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;
const sopClass = Buffer.concat([header(0x00080016, 'UI', 6), Buffer.from('1.2.3\0', 'latin1')]);
const patientName = Buffer.concat([header(0x00100010, 'PN', 4), Buffer.from('Doe ', 'latin1')]);

/** Sequences of undefined length nested `depth` deep, each in an item of undefined length. */
function nested(depth: number): Buffer {
  const open: Buffer[] = [];
  const close: Buffer[] = [];
  for (let level = 0; level < depth; level += 1) {
    open.push(header(0x0040a730, 'SQ', UNDEFINED), implicitHeader(ITEM, UNDEFINED));
    close.unshift(implicitHeader(ITEM_END, 0), implicitHeader(SEQUENCE_END, 0));
  }
  return Buffer.concat([...open, patientName, ...close]);
}

/** An element of `dataset` whose length is set to `length`. */
function withLength(dataset: Buffer, offset: number, length: number): Buffer {
  const copy = Buffer.from(dataset);
  copy.writeUInt16LE(length, offset + 6);
  return copy;
}

const ct = sampleDataset('CT_small.dcm').dataset;

const VALID: WalkCase[] = [
  'CT_small.dcm',
  'MR_small_implicit.dcm',
  'MR_small_bigendian.dcm',
  'JPEG-lossy.dcm',
  'JPEG2000-embedded-sequence-delimiter.dcm',
  'test-SR.dcm',
  'reportsi.dcm',
  'rtplan.dcm',
  'waveform_ecg.dcm',
  'UN_sequence.dcm',
  'nested_priv_SQ.dcm',
  'priv_SQ.dcm',
].map(sampleDataset);

const MADE: WalkCase[] = [
  {
    situation: 'an undefined-length sequence holding items of both lengths',
    dataset: Buffer.concat([
      sopClass,
      header(0x0040a730, 'SQ', UNDEFINED),
      implicitHeader(ITEM, patientName.length),
      patientName,
      implicitHeader(ITEM, UNDEFINED),
      patientName,
      implicitHeader(ITEM_END, 0),
      implicitHeader(SEQUENCE_END, 0),
      Buffer.concat([header(0x0040a731, 'LO', 4), Buffer.from('Doe ', 'latin1')]),
    ]),
    encoding: explicitLittle,
  },
  {
    situation: 'an undefined-length UN holding an implicit VR sequence',
    dataset: Buffer.concat([
      sopClass,
      header(0x00091010, 'UN', UNDEFINED),
      implicitHeader(ITEM, UNDEFINED),
      implicitHeader(0x00100010, 4),
      Buffer.from('Doe ', 'latin1'),
      implicitHeader(ITEM_END, 0),
      implicitHeader(SEQUENCE_END, 0),
      patientName,
    ]),
    encoding: explicitLittle,
  },
  { situation: 'sequences nested 31 deep', dataset: Buffer.concat([sopClass, nested(31)]), encoding: explicitLittle },
  {
    situation: 'an implicit VR sequence of undefined length',
    dataset: Buffer.concat([
      implicitHeader(0x00081140, UNDEFINED),
      implicitHeader(ITEM, 8),
      implicitHeader(0x00081150, 0),
      implicitHeader(SEQUENCE_END, 0),
    ]),
    encoding: implicitLittle,
  },
  { situation: 'an empty dataset', dataset: Buffer.alloc(0), encoding: explicitLittle },
];

const MALFORMED: WalkCase[] = [
  ...[1, 7, 8, 11, 301, ct.length - 100, ct.length - 1].map((length) => ({
    situation: `CT_small cut after ${length} bytes`,
    dataset: ct.subarray(0, length),
    encoding: explicitLittle,
  })),
  {
    situation: 'CT_small whose first element claims more bytes than there are',
    dataset: withLength(ct, 0, 0xfff0),
    encoding: explicitLittle,
  },
  {
    situation: 'CT_small with a garbage VR in its second element',
    dataset: Buffer.concat([ct.subarray(0, 22), Buffer.from('z!'), ct.subarray(24)]),
    encoding: explicitLittle,
  },
  {
    situation: 'CT_small with garbage after its last element',
    dataset: Buffer.concat([ct, Buffer.from('GARBAGE!GARBAGE!')]),
    encoding: explicitLittle,
  },
  {
    situation: 'CT_small with half an element header after its last element',
    dataset: Buffer.concat([ct, Buffer.from([0xe0, 0x7f, 0x10])]),
    encoding: explicitLittle,
  },
  { situation: 'sequences nested 40 deep', dataset: Buffer.concat([sopClass, nested(40)]), encoding: explicitLittle },
  {
    situation: 'an undefined-length sequence never closed',
    dataset: Buffer.concat([sopClass, header(0x0040a730, 'SQ', UNDEFINED), implicitHeader(ITEM, UNDEFINED), patientName]),
    encoding: explicitLittle,
  },
  {
    situation: 'an undefined-length sequence holding an element where an item should be',
    dataset: Buffer.concat([sopClass, header(0x0040a730, 'SQ', UNDEFINED), patientName, implicitHeader(SEQUENCE_END, 0)]),
    encoding: explicitLittle,
  },
  {
    situation: 'an item whose length runs past the end',
    dataset: Buffer.concat([sopClass, header(0x0040a730, 'SQ', UNDEFINED), implicitHeader(ITEM, 1000), patientName]),
    encoding: explicitLittle,
  },
  {
    situation: 'a long-VR header cut after its VR',
    dataset: Buffer.concat([sopClass, header(0x7fe00010, 'OB', 0).subarray(0, 9)]),
    encoding: explicitLittle,
  },
  {
    situation: 'a second StudyInstanceUID after the pixel data (readers would file it under different studies)',
    dataset: Buffer.concat([
      sopClass,
      header(0x0020000d, 'UI', 6),
      Buffer.from('1.2.3\0', 'latin1'),
      header(0x7fe00010, 'OB', 2),
      Buffer.alloc(2),
      header(0x0020000d, 'UI', 6),
      Buffer.from('1.2.4\0', 'latin1'),
    ]),
    encoding: explicitLittle,
  },
  {
    situation: 'the same element twice',
    dataset: Buffer.concat([sopClass, patientName, patientName]),
    encoding: explicitLittle,
  },
  {
    situation: 'a file meta element (0002,0010) in the dataset',
    dataset: Buffer.concat([header(0x00020010, 'UI', 20), Buffer.from('1.2.840.10008.1.2.2\0', 'latin1'), sopClass]),
    encoding: explicitLittle,
  },
  {
    situation: 'text where a dataset should be',
    dataset: Buffer.from('this is not DICOM at all, just some text that goes on'.repeat(20)),
    encoding: explicitLittle,
  },
];

describe('collectElements, in memory and through a ByteSource', () => {
  it.each([...VALID, ...MADE])('gives the same elements for $situation', async (walkCase) => {
    for (const toEnd of [false, true]) {
      const inMemory = await outcome((extra) => collectElementsSync(walkCase.dataset, walkCase.encoding, WANTED, extra, { toEnd }));

      const throughSources = await asyncOutcomes(walkCase, toEnd);

      expect(inMemory).not.toHaveProperty('error');
      for (const [label, read] of Object.entries(throughSources)) {
        expect({ label, toEnd, read }).toEqual({ label, toEnd, read: inMemory });
      }
    }
  });

  it.each(MALFORMED)('fails with the same error for $situation', async (walkCase) => {
    const inMemory = await outcome((extra) => collectElementsSync(walkCase.dataset, walkCase.encoding, WANTED, extra, { toEnd: true }));

    const throughSources = await asyncOutcomes(walkCase, true);

    expect(inMemory).toHaveProperty('error');
    for (const [label, read] of Object.entries(throughSources)) {
      expect({ label, read }).toEqual({ label, read: inMemory });
    }
  });

  it('walks a deflated dataset as it inflates as it does the inflated bytes', async () => {
    const file = sample('image_dfl.dcm');
    const layout = part10Layout(file);
    const encoding = datasetEncoding(layout.transferSyntaxUid);
    const inflated = inflateRawSync(readFileSync(file).subarray(layout.datasetOffset));
    const source = new InflatingByteSource(file, layout.datasetOffset);

    const inflating = await outcome((extra) => collectElements(source, encoding, WANTED, extra, { toEnd: true }));
    await source.close();

    expect(inflating).toEqual(await outcome((extra) => collectElementsSync(inflated, encoding, WANTED, extra, { toEnd: true })));
    expect(inflating).not.toHaveProperty('error');
  });
});

describe('collectElementsBefore and encapsulatedItems: where Pixel Data and its fragments are, as pydicom finds them', () => {
  /** For each file: where pydicom finds Pixel Data's value in the file, and, encapsulated, each fragment's value and length. */
  const PYDICOM_POSITIONS = `
import json, sys, pydicom
from pydicom.encaps import get_frame_offsets, generate_pixel_data_fragment
from pydicom.filebase import DicomFile
out = {}
for name in sys.argv[1:]:
    ds = pydicom.dcmread(name)
    value = ds.get_item(0x7FE00010).value_tell
    fragments = []
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        fp = DicomFile(name, 'rb')
        fp.is_little_endian = True
        fp.seek(value)
        get_frame_offsets(fp)
        for fragment in generate_pixel_data_fragment(fp):
            fragments.append([fp.tell() - len(fragment), len(fragment)])
        fp.close()
    out[name] = {'value': value, 'fragments': fragments}
print(json.dumps(out))
`;
  const FILES = ['MR_small.dcm', 'MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'rtdose_rle.dcm', 'SC_rgb_rle_2frame.dcm', 'JPEG2000.dcm', 'SC_rgb_jpeg_dcmtk.dcm'].map(sample);
  const pydicom = runPydicom<Record<string, { value: number; fragments: Array<[number, number]> }>>(PYDICOM_POSITIONS, FILES);
  const ROWS = 0x00280010;
  const PIXEL_DATA = 0x7fe00010;

  it.each(FILES.map((file) => [path.basename(file), file]))('%s, through every kind of ByteSource', async (_name, file) => {
    const { dataset, encoding } = sampleDataset(path.basename(file));
    const { datasetOffset } = part10Layout(file);
    const expected = pydicom[file] as { value: number; fragments: Array<[number, number]> };
    const sources: Record<string, () => ByteSource> = {
      'file, nothing in memory': () => new FileByteSource(file, datasetOffset, datasetOffset + dataset.length),
      'file, 301 bytes in memory': () => new FileByteSource(file, datasetOffset, datasetOffset + dataset.length, dataset.subarray(0, 301)),
      'a few bytes at a time': () => new TrickleByteSource(dataset),
    };
    for (const [label, open] of Object.entries(sources)) {
      const source = open();
      const { positions, stoppedAt } = await collectElementsBefore(source, encoding, new Set([ROWS]), PIXEL_DATA);
      await source.close();
      expect({ label, tag: stoppedAt?.tag, value: datasetOffset + (stoppedAt?.valueOffset ?? 0) }).toEqual({ label, tag: PIXEL_DATA, value: expected.value });
      expect(positions.get(ROWS)?.length).toBe(2);
      if (expected.fragments.length === 0) continue;
      // The items after the Basic Offset Table's, from the same kinds of sources.
      const itemsStart = (stoppedAt?.valueOffset ?? 0) + 8 + dataset.readUInt32LE((stoppedAt?.valueOffset ?? 0) + 4);
      const rest = open();
      await rest.skip(itemsStart);
      const items = await encapsulatedItems(rest, itemsStart);
      await rest.close();
      expect({ label, fragments: items.map((item) => [datasetOffset + item.valueOffset, item.length]) }).toEqual({ label, fragments: expected.fragments });
      expect({ label, fromMemory: encapsulatedItemsSync(dataset.subarray(itemsStart), itemsStart) }).toEqual({ label, fromMemory: items });
    }
  });
});
