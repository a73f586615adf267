import { inflateRawSync } from 'node:zlib';
import { TruncatedDatasetError } from './byte-source';
import { datasetEncoding, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_LITTLE, type DatasetEncoding } from './dataset-encoding';
import { MalformedDatasetError } from './element-walker';
import { implicitElementVr, swapped, swapWidth, type PixelContext } from './explicit-vr-choice';
import { writeFileMetaHeader } from './part10';
import { SHORT_LENGTH_VRS } from './value-representations';

/**
 * A stored Part 10 file given in Explicit VR Little Endian (PS3.18 8.7.3.5.2) with nothing changed but
 * what the transfer syntax requires, as DCMTK and Orthanc do: each element in its order with its value
 * bytes, its VR made explicit (./explicit-vr-choice), big endian values swapped, a deflated dataset
 * inflated. Text is never decoded, so the Specific Character Set and ISO 2022 escapes stay as they
 * are. Sequences and items are written with undefined lengths and group lengths (gggg,0000) left out:
 * their stored lengths no longer hold; so is an Extended Offset Table, which only describes
 * encapsulated frames. An encapsulated Pixel Data is replaced by what the caller
 * decoded (`replacements`): decoding is not this library's job.
 */

/** A top-level element to write instead of the stored one (or added, in tag order). */
export type Replacement =
  | { vr: 'US'; value: number }
  | { vr: 'CS'; value: string }
  | { vr: 'OB' | 'OW'; value: Uint8Array };

/** Replacements by tag, as DICOM JSON keys ("7FE00010"). */
export type Replacements = ReadonlyMap<string, Replacement>;

const ITEM = 0xfffee000;
const ITEM_DELIMITATION = 0xfffee00d;
const SEQUENCE_DELIMITATION = 0xfffee0dd;
const UNDEFINED_LENGTH = 0xffffffff;
const BITS_ALLOCATED = 0x00280100;
const PIXEL_REPRESENTATION = 0x00280103;
const PREAMBLE_AND_PREFIX = 132;
const MAX_NESTING = 32;

/** The transfer syntax a Part 10 file's meta names. */
export function part10TransferSyntax(part10: Uint8Array): string {
  return storedMeta(asBuffer(part10)).transferSyntaxUid;
}

export function toExplicitVrLittleEndian(part10: Uint8Array, replacements: Replacements = new Map()): Buffer {
  const bytes = asBuffer(part10);
  const meta = storedMeta(bytes);
  const encoding = datasetEncoding(meta.transferSyntaxUid);
  const dataset = encoding.deflated ? inflateRawSync(bytes.subarray(meta.datasetOffset)) : bytes.subarray(meta.datasetOffset);
  const writer = new Rewriter(dataset, replacements);
  writer.elements(0, dataset.length, encoding, {}, 0);
  writer.flushReplacements(Number.POSITIVE_INFINITY);
  const head = writeFileMetaHeader({ ...meta, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
  return Buffer.concat([head, ...writer.parts]);
}

interface Header {
  tag: number;
  /** Undefined in an implicit VR dataset, and for items and delimiters. */
  vr: string | undefined;
  length: number;
  valueStart: number;
}

class Rewriter {
  readonly parts: Buffer[] = [];
  /** Replacements not written yet, in tag order. */
  private readonly pending: Array<[number, Replacement]>;

  constructor(
    private readonly bytes: Buffer,
    replacements: Replacements,
  ) {
    this.pending = [...replacements].map(([tag, value]): [number, Replacement] => [Number.parseInt(tag, 16) >>> 0, value]).sort(([a], [b]) => a - b);
  }

  /** Rewrites the elements from `start` to `end` or to an item delimitation item; returns where it stopped. */
  elements(start: number, end: number, encoding: DatasetEncoding, context: PixelContext, depth: number): number {
    let offset = start;
    while (offset < end) {
      const header = readHeader(this.bytes, offset, encoding);
      if (header.tag === ITEM_DELIMITATION) {
        return header.valueStart;
      }
      const replaced = depth === 0 && this.flushReplacements(header.tag);
      offset = replaced || leftOut(header.tag, depth) ? this.valueEnd(header, encoding, depth) : this.element(header, encoding, context, depth);
    }
    return offset;
  }

  /** Writes the replacements of tags up to `tag`: whether one replaces the element `tag`. */
  flushReplacements(tag: number): boolean {
    let replaced = false;
    while (this.pending.length > 0 && (this.pending[0] as [number, Replacement])[0] <= tag) {
      const [pendingTag, replacement] = this.pending.shift() as [number, Replacement];
      replaced ||= pendingTag === tag;
      this.write(pendingTag, replacement.vr, replacementBytes(replacement));
    }
    return replaced;
  }

  private element(header: Header, encoding: DatasetEncoding, context: PixelContext, depth: number): number {
    const { tag, length, valueStart } = header;
    const vr = header.vr ?? implicitElementVr(tag, length, context);
    if (vr === 'SQ') {
      this.parts.push(elementHeader(tag, vr, UNDEFINED_LENGTH));
      const end = this.items(valueStart, length, encoding, context, depth + 1);
      this.parts.push(itemHeader(SEQUENCE_DELIMITATION, 0));
      return end;
    }
    if (length === UNDEFINED_LENGTH) {
      if (vr !== 'UN') {
        throw new MalformedDatasetError('encapsulated pixel data must be decoded before it is written in a native transfer syntax');
      }
      // A sequence in Implicit VR Little Endian inside a UN, whatever the dataset's syntax (PS3.5 6.2.2): kept as it is.
      const end = sequenceEnd(this.bytes, valueStart, IMPLICIT_LITTLE, depth + 1);
      this.write(tag, vr, this.bytes.subarray(valueStart, end), UNDEFINED_LENGTH);
      return end;
    }
    const value = slice(this.bytes, valueStart, length);
    noteImagePixel(context, tag, value, encoding.littleEndian);
    const width = encoding.littleEndian ? 1 : swapWidth(tag, vr, context);
    this.write(tag, vr, width > 1 ? swapped(value, width) : value);
    return valueStart + length;
  }

  /** The items of a sequence, each with undefined length; returns where the sequence ends. */
  private items(start: number, length: number, encoding: DatasetEncoding, parent: PixelContext, depth: number): number {
    if (depth > MAX_NESTING) {
      throw new MalformedDatasetError('sequences nested too deeply');
    }
    const end = length === UNDEFINED_LENGTH ? this.bytes.length : start + length;
    let offset = start;
    while (offset < end) {
      const item = readHeader(this.bytes, offset, encoding);
      if (item.tag === SEQUENCE_DELIMITATION) {
        return item.valueStart;
      }
      if (item.tag !== ITEM) {
        throw new MalformedDatasetError('expected an item in a sequence');
      }
      this.parts.push(itemHeader(ITEM, UNDEFINED_LENGTH));
      const itemEnd = item.length === UNDEFINED_LENGTH ? end : item.valueStart + item.length;
      const stopped = this.elements(item.valueStart, itemEnd, encoding, { ...parent }, depth);
      offset = item.length === UNDEFINED_LENGTH ? stopped : itemEnd;
      this.parts.push(itemHeader(ITEM_DELIMITATION, 0));
    }
    if (length === UNDEFINED_LENGTH) {
      throw new TruncatedDatasetError();
    }
    return end;
  }

  /** Where an element left out ends. */
  private valueEnd(header: Header, encoding: DatasetEncoding, depth: number): number {
    if (header.length !== UNDEFINED_LENGTH) {
      return header.valueStart + header.length;
    }
    const inner = header.vr === 'UN' ? IMPLICIT_LITTLE : encoding;
    return sequenceEnd(this.bytes, header.valueStart, inner, depth + 1);
  }

  private write(tag: number, vr: string, value: Buffer, length = value.length): void {
    this.parts.push(elementHeader(tag, vr, length), value);
  }
}

/** After the delimiter of an undefined-length sequence or encapsulated value starting at `start`. */
function sequenceEnd(bytes: Buffer, start: number, encoding: DatasetEncoding, depth: number): number {
  if (depth > MAX_NESTING) {
    throw new MalformedDatasetError('sequences nested too deeply');
  }
  let offset = start;
  for (;;) {
    const item = readHeader(bytes, offset, encoding);
    if (item.tag === SEQUENCE_DELIMITATION) {
      return item.valueStart;
    }
    offset = item.length === UNDEFINED_LENGTH ? itemEnd(bytes, item.valueStart, encoding, depth) : item.valueStart + item.length;
  }
}

/** After the item delimitation item of an undefined-length item's elements. */
function itemEnd(bytes: Buffer, start: number, encoding: DatasetEncoding, depth: number): number {
  let offset = start;
  for (;;) {
    const header = readHeader(bytes, offset, encoding);
    if (header.tag === ITEM_DELIMITATION) {
      return header.valueStart;
    }
    const inner = header.vr === 'UN' ? IMPLICIT_LITTLE : encoding;
    offset = header.length === UNDEFINED_LENGTH ? sequenceEnd(bytes, header.valueStart, inner, depth + 1) : header.valueStart + header.length;
  }
}

/** Bits Allocated and Pixel Representation, which later elements' VR and byte order depend on. */
function noteImagePixel(context: PixelContext, tag: number, value: Buffer, littleEndian: boolean): void {
  if ((tag !== BITS_ALLOCATED && tag !== PIXEL_REPRESENTATION) || value.length < 2) {
    return;
  }
  const number = littleEndian ? value.readUInt16LE(0) : value.readUInt16BE(0);
  if (tag === BITS_ALLOCATED) {
    context.bitsAllocated = number;
  } else {
    context.pixelRepresentation = number;
  }
}

function readHeader(bytes: Buffer, offset: number, encoding: DatasetEncoding): Header {
  const head = slice(bytes, offset, 8);
  const read16 = (at: number): number => (encoding.littleEndian ? head.readUInt16LE(at) : head.readUInt16BE(at));
  const tag = ((read16(0) << 16) | read16(2)) >>> 0;
  // Items and delimiters have no VR, in every transfer syntax.
  if (!encoding.explicitVr || tag >>> 16 === 0xfffe) {
    return { tag, vr: undefined, length: encoding.littleEndian ? head.readUInt32LE(4) : head.readUInt32BE(4), valueStart: offset + 8 };
  }
  const vr = head.toString('latin1', 4, 6);
  if (SHORT_LENGTH_VRS.has(vr)) {
    return { tag, vr, length: read16(6), valueStart: offset + 8 };
  }
  if (!/^[A-Z]{2}$/.test(vr)) {
    throw new MalformedDatasetError('an element has no valid VR in an explicit VR dataset');
  }
  const long = slice(bytes, offset + 8, 4);
  return { tag, vr, length: encoding.littleEndian ? long.readUInt32LE(0) : long.readUInt32BE(0), valueStart: offset + 12 };
}

/** An element header in Explicit VR Little Endian (PS3.5 7.1.2). */
function elementHeader(tag: number, vr: string, length: number): Buffer {
  const short = SHORT_LENGTH_VRS.has(vr);
  const header = Buffer.alloc(short ? 8 : 12);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.write(vr, 4, 'latin1');
  if (short) {
    header.writeUInt16LE(length, 6);
  } else {
    header.writeUInt32LE(length, 8);
  }
  return header;
}

function itemHeader(tag: number, length: number): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.writeUInt32LE(length, 4);
  return header;
}

/** A replacement's value, padded to an even length (PS3.5 7.1.1): CS with a space, bytes with NUL. */
function replacementBytes(replacement: Replacement): Buffer {
  switch (replacement.vr) {
    case 'US': {
      const value = Buffer.alloc(2);
      value.writeUInt16LE(replacement.value, 0);
      return value;
    }
    case 'CS':
      return Buffer.from(replacement.value.length % 2 === 0 ? replacement.value : `${replacement.value} `, 'latin1');
    case 'OB':
    case 'OW': {
      const value = Buffer.from(replacement.value.buffer, replacement.value.byteOffset, replacement.value.byteLength);
      return value.length % 2 === 0 ? value : Buffer.concat([value, Buffer.alloc(1)]);
    }
  }
}

/** Group lengths, and group 0002 where a writer left it in the dataset: the new File Meta Information replaces it. */
/** Extended Offset Table and its Lengths (PS3.3 C.7.6.3.1.8): they describe encapsulated frames only. */
const EXTENDED_OFFSET_TABLE = 0x7fe00001;
const EXTENDED_OFFSET_TABLE_LENGTHS = 0x7fe00002;

/** Group lengths, the stored meta, and what described the compressed Pixel Data the output no longer has. */
function leftOut(tag: number, depth: number): boolean {
  return (
    (tag & 0xffff) === 0 ||
    (depth === 0 && (tag >>> 16 === 0x0002 || tag === EXTENDED_OFFSET_TABLE || tag === EXTENDED_OFFSET_TABLE_LENGTHS))
  );
}

interface StoredMeta {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  sourceAeTitle: string;
  datasetOffset: number;
}

/** The stored File Meta Information's UIDs and where the dataset starts (group 0002 read to its end). */
function storedMeta(bytes: Buffer): StoredMeta {
  if (bytes.length < PREAMBLE_AND_PREFIX || bytes.toString('latin1', PREAMBLE_AND_PREFIX - 4, PREAMBLE_AND_PREFIX) !== 'DICM') {
    throw new MalformedDatasetError('not a DICOM Part 10 file: no "DICM" after the preamble');
  }
  const explicitLittle = datasetEncoding(EXPLICIT_VR_LITTLE_ENDIAN);
  const values = new Map<number, string>();
  let offset = PREAMBLE_AND_PREFIX;
  while (offset + 8 <= bytes.length && bytes.readUInt16LE(offset) === 0x0002) {
    const header = readHeader(bytes, offset, explicitLittle);
    values.set(header.tag & 0xffff, slice(bytes, header.valueStart, header.length).toString('latin1').replace(/[\0 ]+$/, '').trim());
    offset = header.valueStart + header.length;
  }
  const transferSyntaxUid = values.get(0x0010);
  if (transferSyntaxUid === undefined) {
    throw new MalformedDatasetError('the file meta information has no Transfer Syntax UID');
  }
  return {
    sopClassUid: values.get(0x0002) ?? '',
    sopInstanceUid: values.get(0x0003) ?? '',
    transferSyntaxUid,
    sourceAeTitle: values.get(0x0016) ?? '',
    datasetOffset: offset,
  };
}

function slice(bytes: Buffer, offset: number, length: number): Buffer {
  if (offset + length > bytes.length) {
    throw new TruncatedDatasetError();
  }
  return bytes.subarray(offset, offset + length);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
