import type { ByteSource } from './byte-source';
import { IMPLICIT_LITTLE, type DatasetEncoding } from './dataset-encoding';
import { SHORT_LENGTH_VRS } from './value-representations';

/**
 * Walks the top-level data elements of a dataset by their headers only and returns the raw bytes of
 * the elements we want, in order. Values we do not want (pixel data, waveforms, an encapsulated
 * PDF, the content tree of most SRs) are skipped without being read, so parsing the header of any
 * instance costs a few kilobytes of memory; elements wanted for some SOP classes only (a dose
 * report's content tree) are kept up to a size limit. ./dataset-reader then decodes the buffer this returns.
 */

const UNDEFINED_LENGTH = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_DELIMITATION = 0xfffee00d;
const SEQUENCE_DELIMITATION = 0xfffee0dd;
const MAX_NESTING = 32;

export class MalformedDatasetError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'MalformedDatasetError';
  }
}

interface ElementHeader {
  tag: number;
  vr: string | undefined;
  length: number;
  bytes: Buffer;
}

/**
 * Elements wanted only for some SOP classes (e.g. the content tree of a dose report), decided once
 * the dataset's SOP Class UID (0008,0016) has been read: it comes before them in tag order.
 */
export interface ExtraElements {
  forSopClass(sopClassUid: string): ReadonlySet<number> | undefined;
  /** An extra element larger than this is skipped rather than kept: memory stays bounded. */
  maxBytes: number;
  /** Told of each extra element left out because of its size. */
  omitted?(tag: number): void;
}

const SOP_CLASS_UID = 0x00080016;

/**
 * `wanted` holds tags as 32-bit numbers (group << 16 | element); the walk stops after the largest,
 * unless `toEnd`: then it goes on to the end of the dataset, headers only, so that a dataset whose
 * structure breaks anywhere (a length past the end, garbage where an element should start, an
 * unclosed sequence) is refused rather than stored as if it were whole.
 */
export async function collectElements(
  source: ByteSource,
  encoding: DatasetEncoding,
  wanted: ReadonlySet<number>,
  extra?: ExtraElements,
  options: { toEnd?: boolean } = {},
): Promise<Buffer> {
  let lastWanted = Math.max(...wanted);
  let extraTags: ReadonlySet<number> = new Set();
  const kept = new Sink();
  while (!(await source.atEnd())) {
    const header = await readElementHeader(source, encoding);
    // Top-level elements come in ascending tag order: nothing we want can follow.
    if (header.tag > lastWanted && options.toEnd !== true) {
      break;
    }
    if (wanted.has(header.tag)) {
      kept.push(header.bytes);
      if (header.tag === SOP_CLASS_UID && extra && header.length !== UNDEFINED_LENGTH) {
        const value = await source.read(header.length);
        kept.push(value);
        extraTags = extra.forSopClass(value.toString('latin1').replace(/[\0 ]+$/, '')) ?? extraTags;
        lastWanted = Math.max(lastWanted, ...extraTags);
        continue;
      }
      await consumeValue(source, encoding, header, kept, 0);
    } else if (extraTags.has(header.tag)) {
      const element = new Sink(extra?.maxBytes);
      element.push(header.bytes);
      await consumeValue(source, encoding, header, element, 0);
      if (element.overflowed) {
        extra?.omitted?.(header.tag);
      } else {
        kept.push(...element.parts);
      }
    } else {
      await consumeValue(source, encoding, header, null, 0);
    }
  }
  return Buffer.concat(kept.parts);
}

/** Collects the bytes of kept elements; past its limit it drops them and takes nothing more. */
class Sink {
  readonly parts: Buffer[] = [];
  overflowed = false;
  private size = 0;

  constructor(private readonly limit = Number.POSITIVE_INFINITY) {}

  push(...chunks: Buffer[]): void {
    if (this.overflowed) {
      return;
    }
    for (const chunk of chunks) {
      this.size += chunk.length;
      this.parts.push(chunk);
    }
    if (this.size > this.limit) {
      this.overflowed = true;
      this.parts.length = 0;
    }
  }
}

export function tagNumber(hex: string): number {
  return Number.parseInt(hex, 16) >>> 0;
}

async function consumeValue(
  source: ByteSource,
  encoding: DatasetEncoding,
  header: ElementHeader,
  sink: Sink | null,
  depth: number,
): Promise<void> {
  if (header.length !== UNDEFINED_LENGTH) {
    await take(source, header.length, sink);
    return;
  }
  // An undefined-length UN holds a sequence encoded in Implicit VR Little Endian (PS3.5 6.2.2).
  const inner = encoding.explicitVr && header.vr === 'UN' ? IMPLICIT_LITTLE : encoding;
  await consumeItems(source, inner, sink, depth + 1);
}

/** Items up to the sequence delimiter; also covers encapsulated fragments, which are items too. */
async function consumeItems(
  source: ByteSource,
  encoding: DatasetEncoding,
  sink: Sink | null,
  depth: number,
): Promise<void> {
  if (depth > MAX_NESTING) {
    throw new MalformedDatasetError('sequences nested too deeply');
  }
  for (;;) {
    const bytes = await source.read(8);
    sink?.push(bytes);
    const tag = readTag(bytes, encoding.littleEndian);
    const length = encoding.littleEndian ? bytes.readUInt32LE(4) : bytes.readUInt32BE(4);
    if (tag === SEQUENCE_DELIMITATION) {
      return;
    }
    if (tag !== ITEM) {
      throw new MalformedDatasetError('expected an item in a sequence of undefined length');
    }
    if (length !== UNDEFINED_LENGTH) {
      await take(source, length, sink);
      continue;
    }
    await consumeItemElements(source, encoding, sink, depth);
  }
}

async function consumeItemElements(
  source: ByteSource,
  encoding: DatasetEncoding,
  sink: Sink | null,
  depth: number,
): Promise<void> {
  for (;;) {
    const header = await readElementHeader(source, encoding);
    sink?.push(header.bytes);
    if (header.tag === ITEM_DELIMITATION) {
      return;
    }
    await consumeValue(source, encoding, header, sink, depth);
  }
}

async function readElementHeader(source: ByteSource, encoding: DatasetEncoding): Promise<ElementHeader> {
  const { littleEndian } = encoding;
  const bytes = await source.read(8);
  const tag = readTag(bytes, littleEndian);
  // Items and delimiters have no VR, in every transfer syntax.
  if (!encoding.explicitVr || tag >>> 16 === 0xfffe) {
    return { tag, vr: undefined, length: littleEndian ? bytes.readUInt32LE(4) : bytes.readUInt32BE(4), bytes };
  }
  const vr = bytes.toString('latin1', 4, 6);
  if (SHORT_LENGTH_VRS.has(vr)) {
    return { tag, vr, length: littleEndian ? bytes.readUInt16LE(6) : bytes.readUInt16BE(6), bytes };
  }
  if (!/^[A-Z]{2}$/.test(vr)) {
    throw new MalformedDatasetError('an element has no valid VR in an explicit VR dataset');
  }
  // A long VR, or one defined after this code was written: those all have a 4-byte length (PS3.5 6.2).
  const extension = await source.read(4);
  const length = littleEndian ? extension.readUInt32LE(0) : extension.readUInt32BE(0);
  return { tag, vr, length, bytes: Buffer.concat([bytes, extension]) };
}

function readTag(bytes: Buffer, littleEndian: boolean): number {
  const group = littleEndian ? bytes.readUInt16LE(0) : bytes.readUInt16BE(0);
  const element = littleEndian ? bytes.readUInt16LE(2) : bytes.readUInt16BE(2);
  return ((group << 16) | element) >>> 0;
}

async function take(source: ByteSource, length: number, sink: Sink | null): Promise<void> {
  if (sink === null || sink.overflowed) {
    await source.skip(length);
  } else {
    sink.push(await source.read(length));
  }
}
