import { TruncatedDatasetError } from './byte-source';
import { characterSets, decodeText, textKind, type CharacterSets, type TextKind } from './character-sets';
import { IMPLICIT_LITTLE, type DatasetEncoding } from './dataset-encoding';
import { vrOf } from './dictionary';
import type { DicomAttribute, DicomJson } from './dicom-json';
import { MalformedDatasetError } from './element-walker';
import { personNameGroups } from './values';
import { BINARY_NUMBER_VRS, BINARY_VRS, NUMBER_STRING_VRS, SHORT_LENGTH_VRS } from './value-representations';

/**
 * Where a DICOM attribute is read: the bytes of a dataset → the DICOM JSON model (PS3.18 F.2).
 * Each element is decoded once, from its bytes: text per the Specific Character Set in force (the
 * dataset's, or a sequence item's own, PS3.5 6.1.2.5.4), by ./character-sets; IS and DS as
 * numbers; PN as `{Alphabetic, Ideographic, Phonetic}`; AT as tags; SQ as items; Specific
 * Character Set as "ISO_IR 192", since the text is then Unicode. Empty values are
 * `null`, and an attribute without any value keeps only its VR. Binary values (OB, OW, UN, pixel
 * data…) are left out, or given as a BulkDataURI when the caller names one.
 *
 * Implicit VR datasets take their VRs from ./dictionary; an explicit UN of a standard attribute is
 * read as the dictionary's VR (its value is Implicit VR Little Endian, PS3.5 6.2.2).
 */

export interface ReadDatasetOptions {
  /**
   * The BulkDataURI of a binary attribute at `path` (its tag, and item indices and tags within
   * sequences), or undefined to leave it out. Without this option every binary attribute is left out.
   */
  bulkDataUri?: (path: ReadonlyArray<string | number>) => string | undefined;
}

export interface DatasetRead {
  dataset: DicomJson;
  /** Text that could not be decoded strictly (an unknown character set): read with the default repertoire. */
  warnings: string[];
}

const ITEM = 0xfffee000;
const ITEM_DELIMITATION = 0xfffee00d;
const SEQUENCE_DELIMITATION = 0xfffee0dd;
const UNDEFINED_LENGTH = 0xffffffff;
const SPECIFIC_CHARACTER_SET = '00080005';
const UTF8 = 'ISO_IR 192';
const MAX_NESTING = 32;

/** Reads every element of a bare dataset (no preamble, no file meta) in the given encoding. */
export function readDataset(
  bytes: Uint8Array,
  encoding: DatasetEncoding,
  options: ReadDatasetOptions = {},
): DatasetRead {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = new Reader(buffer, options);
  const dataset = reader.elements(0, buffer.length, encoding, characterSets([]), [], 0).dataset;
  return { dataset, warnings: reader.warnings };
}

interface ElementsRead {
  dataset: DicomJson;
  /** Where reading stopped: the end, or after an item delimitation item. */
  end: number;
}

class Reader {
  readonly warnings: string[] = [];

  constructor(
    private readonly bytes: Buffer,
    private readonly options: ReadDatasetOptions,
  ) {}

  /** The elements from `start` to `end`, or up to an item delimitation item. */
  elements(
    start: number,
    end: number,
    encoding: DatasetEncoding,
    inherited: CharacterSets,
    path: ReadonlyArray<string | number>,
    depth: number,
  ): ElementsRead {
    const dataset: DicomJson = {};
    let sets = inherited;
    let offset = start;
    while (offset < end) {
      const header = this.header(offset, encoding);
      offset = header.valueStart;
      if (header.tag === ITEM_DELIMITATION) {
        return { dataset, end: offset };
      }
      const tag = hex(header.tag);
      let attribute: DicomAttribute | undefined;
      if (header.vr === 'SQ' || (header.length === UNDEFINED_LENGTH && header.vr === 'UN')) {
        const read = this.sequence(offset, header.length, header.valueEncoding, sets, [...path, tag], depth + 1);
        attribute = read.items.length > 0 ? { vr: 'SQ', Value: read.items } : { vr: 'SQ' };
        offset = read.end;
      } else if (header.length === UNDEFINED_LENGTH) {
        // Encapsulated pixel data: fragments up to the sequence delimiter.
        offset = this.skipItems(offset, encoding);
        attribute = this.binary(header.vr, path, tag);
      } else {
        const value = this.slice(offset, header.length);
        offset += header.length;
        if ((header.tag & 0xffff) === 0) {
          // A group length (gggg,0000): PS3.18 F.2.2 keeps them out of the DICOM JSON model, and a
          // reader needs none (the elements carry their own lengths).
          attribute = undefined;
        } else if (tag === SPECIFIC_CHARACTER_SET) {
          sets = this.characterSets(value);
          // The text is Unicode from here on: as UTF-8, the character set it would be written in.
          attribute = { vr: header.vr, Value: [UTF8] };
        } else {
          attribute = BINARY_VRS.has(header.vr)
            ? this.binary(header.vr, path, tag)
            : valueAttribute(header.vr, value, header.valueEncoding, sets);
        }
      }
      if (attribute !== undefined) {
        dataset[tag] = attribute;
      }
    }
    return { dataset, end: offset };
  }

  private sequence(
    start: number,
    length: number,
    encoding: DatasetEncoding,
    sets: CharacterSets,
    path: ReadonlyArray<string | number>,
    depth: number,
  ): { items: DicomJson[]; end: number } {
    if (depth > MAX_NESTING) {
      throw new MalformedDatasetError('sequences nested too deeply');
    }
    const items: DicomJson[] = [];
    const end = length === UNDEFINED_LENGTH ? this.bytes.length : start + length;
    let offset = start;
    while (offset < end) {
      const tag = this.tag(offset, encoding.littleEndian);
      const itemLength = this.uint32(offset + 4, encoding.littleEndian);
      offset += 8;
      if (tag === SEQUENCE_DELIMITATION) {
        return { items, end: offset };
      }
      if (tag !== ITEM) {
        throw new MalformedDatasetError('expected an item in a sequence');
      }
      const itemEnd = itemLength === UNDEFINED_LENGTH ? end : offset + itemLength;
      const read = this.elements(offset, itemEnd, encoding, sets, [...path, items.length], depth);
      items.push(read.dataset);
      offset = itemLength === UNDEFINED_LENGTH ? read.end : itemEnd;
    }
    if (length === UNDEFINED_LENGTH) {
      throw new TruncatedDatasetError();
    }
    return { items, end };
  }

  private skipItems(start: number, encoding: DatasetEncoding): number {
    let offset = start;
    for (;;) {
      const tag = this.tag(offset, encoding.littleEndian);
      const length = this.uint32(offset + 4, encoding.littleEndian);
      offset += 8;
      if (tag === SEQUENCE_DELIMITATION) {
        return offset;
      }
      if (tag !== ITEM || length === UNDEFINED_LENGTH) {
        throw new MalformedDatasetError('expected a fragment in encapsulated data');
      }
      this.check(offset, length);
      offset += length;
    }
  }

  private header(offset: number, encoding: DatasetEncoding): ElementHeader {
    const { littleEndian } = encoding;
    const tag = this.tag(offset, littleEndian);
    // Items and delimiters have no VR, in every transfer syntax.
    if (!encoding.explicitVr || tag >>> 16 === 0xfffe) {
      const length = this.uint32(offset + 4, littleEndian);
      return { tag, vr: implicitVr(tag, length), length, valueStart: offset + 8, valueEncoding: encoding };
    }
    this.check(offset, 8);
    // Two bytes as Latin-1, without a decoder call per element.
    const vr = String.fromCharCode(this.bytes[offset + 4]!, this.bytes[offset + 5]!);
    if (SHORT_LENGTH_VRS.has(vr)) {
      const length = littleEndian ? this.bytes.readUInt16LE(offset + 6) : this.bytes.readUInt16BE(offset + 6);
      return { tag, vr, length, valueStart: offset + 8, valueEncoding: encoding };
    }
    if (!/^[A-Z]{2}$/.test(vr)) {
      throw new MalformedDatasetError('an element has no valid VR in an explicit VR dataset');
    }
    // A long VR, or one defined after this code was written: those all have a 4-byte length (PS3.5 6.2).
    const length = this.uint32(offset + 8, littleEndian);
    const known = vr === 'UN' ? vrOf(hex(tag)) : undefined;
    if (known !== undefined) {
      return { tag, vr: known, length, valueStart: offset + 12, valueEncoding: IMPLICIT_LITTLE };
    }
    // An undefined-length UN holds a sequence encoded in Implicit VR Little Endian (PS3.5 6.2.2).
    const valueEncoding = vr === 'UN' && length === UNDEFINED_LENGTH ? IMPLICIT_LITTLE : encoding;
    return { tag, vr, length, valueStart: offset + 12, valueEncoding };
  }

  private characterSets(value: Buffer): CharacterSets {
    const terms = value.toString('latin1').split('\\');
    const sets = characterSets(terms);
    for (const term of sets.unknown) {
      this.warnings.push(`unknown character set "${term}": its text is read with the default repertoire`);
    }
    return sets;
  }

  /** The element `tag` in the item at `path`: its path made only when the caller names bulk data. */
  private binary(vr: string, path: ReadonlyArray<string | number>, tag: string): DicomAttribute | undefined {
    const uri = this.options.bulkDataUri?.([...path, tag]);
    return uri === undefined ? undefined : { vr, BulkDataURI: uri };
  }

  private slice(offset: number, length: number): Buffer {
    this.check(offset, length);
    return this.bytes.subarray(offset, offset + length);
  }

  private check(offset: number, length: number): void {
    if (offset + length > this.bytes.length) {
      throw new TruncatedDatasetError();
    }
  }

  private tag(offset: number, littleEndian: boolean): number {
    this.check(offset, 4);
    const { bytes } = this;
    const group = littleEndian ? bytes.readUInt16LE(offset) : bytes.readUInt16BE(offset);
    const element = littleEndian ? bytes.readUInt16LE(offset + 2) : bytes.readUInt16BE(offset + 2);
    return ((group << 16) | element) >>> 0;
  }

  private uint32(offset: number, littleEndian: boolean): number {
    this.check(offset, 4);
    return littleEndian ? this.bytes.readUInt32LE(offset) : this.bytes.readUInt32BE(offset);
  }
}

interface ElementHeader {
  tag: number;
  vr: string;
  length: number;
  valueStart: number;
  /** How the value is encoded: as the dataset, or Implicit VR Little Endian inside a UN. */
  valueEncoding: DatasetEncoding;
}

/** The VR of an implicit VR element: the dictionary's; for others, what their encoding shows. */
function implicitVr(tag: number, length: number): string {
  const known = vrOf(hex(tag));
  if (known !== undefined) {
    return known;
  }
  if (length === UNDEFINED_LENGTH) {
    return 'SQ';
  }
  const group = tag >>> 16;
  const element = tag & 0xffff;
  // Private creators (gggg,0010-00FF) of odd groups are LO (PS3.5 7.8.1).
  return group % 2 === 1 && element >= 0x0010 && element <= 0x00ff ? 'LO' : 'UN';
}

function hex(tag: number): string {
  return tag.toString(16).toUpperCase().padStart(8, '0');
}

/** The attribute of an element with a defined-length, non-binary value. */
function valueAttribute(
  vr: string,
  value: Buffer,
  encoding: DatasetEncoding,
  sets: CharacterSets,
): DicomAttribute | undefined {
  if (!/^[A-Z]{2}$/.test(vr)) {
    return undefined;
  }
  const values = decodeValues(vr, value, encoding.littleEndian, sets);
  return values.some((entry) => entry !== null) ? { vr, Value: values } : { vr };
}

function decodeValues(vr: string, value: Buffer, littleEndian: boolean, sets: CharacterSets): unknown[] {
  const size = BINARY_NUMBER_VRS[vr];
  if (size !== undefined) {
    return binaryNumbers(vr, value, size, littleEndian);
  }
  if (vr === 'AT') {
    const tags: string[] = [];
    for (let offset = 0; offset + 4 <= value.length; offset += 4) {
      const group = littleEndian ? value.readUInt16LE(offset) : value.readUInt16BE(offset);
      const element = littleEndian ? value.readUInt16LE(offset + 2) : value.readUInt16BE(offset + 2);
      tags.push(hex(((group << 16) | element) >>> 0));
    }
    return tags;
  }
  const kind = textKind(vr);
  if (kind !== undefined) {
    return splitText(decodeText(value, sets, kind), kind);
  }
  // The other string VRs use the default repertoire (PS3.5 6.1.2.3).
  const strings = value.toString('latin1').split('\\');
  if (NUMBER_STRING_VRS.has(vr)) {
    return strings.map(numberString);
  }
  switch (vr) {
    case 'UI':
      // Only the padding goes (NUL, or a space some writers use). Never "clean" a UID: `1.2.3A4` and
      // `1.2.3B4` would both become `1.2.34`, and the first instance stored under it would be lost.
      // An invalid UID is kept as sent, for the caller to refuse.
      return strings.map((uid) => textOrNull(uid.replace(/[\0 ]+$/, '')));
    case 'AE':
    case 'CS':
      // Leading and trailing spaces are not significant (PS3.5 6.2).
      return strings.map((text) => textOrNull(text.trim()));
    default:
      return strings.map((text) => textOrNull(text.replace(/[\0\s]+$/, '')));
  }
}

function binaryNumbers(vr: string, value: Buffer, size: number, littleEndian: boolean): unknown[] {
  const [little, big] = NUMBER_READERS[vr] ?? NUMBER_READERS.UV!;
  const read = littleEndian ? little : big;
  const numbers: unknown[] = [];
  for (let offset = 0; offset + size <= value.length; offset += size) {
    const number = Number(value[read](offset));
    numbers.push(Number.isFinite(number) ? number : null);
  }
  return numbers;
}

type NumberReader = 'readUInt16LE' | 'readUInt16BE' | 'readInt16LE' | 'readInt16BE' | 'readUInt32LE' | 'readUInt32BE'
  | 'readInt32LE' | 'readInt32BE' | 'readFloatLE' | 'readFloatBE' | 'readDoubleLE' | 'readDoubleBE'
  | 'readBigInt64LE' | 'readBigInt64BE' | 'readBigUInt64LE' | 'readBigUInt64BE';

/** The Buffer methods that read one value of each binary number VR: little, big endian. */
const NUMBER_READERS: Readonly<Record<string, readonly [NumberReader, NumberReader]>> = {
  US: ['readUInt16LE', 'readUInt16BE'],
  SS: ['readInt16LE', 'readInt16BE'],
  UL: ['readUInt32LE', 'readUInt32BE'],
  SL: ['readInt32LE', 'readInt32BE'],
  FL: ['readFloatLE', 'readFloatBE'],
  FD: ['readDoubleLE', 'readDoubleBE'],
  SV: ['readBigInt64LE', 'readBigInt64BE'],
  UV: ['readBigUInt64LE', 'readBigUInt64BE'],
};

/** The form of a DS or IS value once its padding is gone (PS3.5 6.2): a decimal or integer string. */
const DECIMAL_STRING = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * IS, DS → a number; leading and trailing spaces (and a NUL some writers pad with) are not
 * significant; empty or anything else → null. Never "cleaned": `0,5` is not `05`, nor `12abc`
 * `12` (a Pixel Spacing read 10 times too large would make every measurement wrong).
 */
function numberString(text: string): number | null {
  const trimmed = text.replace(/^[ \0]+|[ \0]+$/g, '');
  return DECIMAL_STRING.test(trimmed) ? Number(trimmed) : null;
}

function splitText(text: string, kind: TextKind): unknown[] {
  switch (kind) {
    case 'person-name':
      return text.split('\\').map(personNameGroups);
    case 'multi-valued':
      // SH, LO and UC: leading and trailing spaces are not significant (PS3.5 6.2).
      return text.split('\\').map((value) => textOrNull(value.trim()));
    case 'text':
      // ST, LT, UT: single-valued; trailing spaces are not significant (PS3.5 6.2), a final line break is.
      return [textOrNull(text.replace(/ +$/, ''))];
  }
}

function textOrNull(value: string): string | null {
  const text = value.replace(/[\0 ]+$/, '');
  return text.length > 0 ? text : null;
}
