import { TruncatedDatasetError, type ByteSource } from './byte-source';
import { datasetEncoding, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_LITTLE, type DatasetEncoding } from './dataset-encoding';
import { SHORT_LENGTH_VRS } from './value-representations';

/**
 * Walks the top-level data elements of a dataset by their headers only and returns the raw bytes of
 * the elements we want, in order. Values we do not want (pixel data, waveforms, an encapsulated
 * PDF, the content tree of most SRs) are skipped without being read, so parsing the header of any
 * instance costs a few kilobytes of memory; elements wanted for some SOP classes only (a dose
 * report's content tree) are kept up to a size limit. ./dataset-reader then decodes the buffer this returns.
 *
 * The walk reads synchronously from the bytes in memory (a window of the dataset) and stops to ask
 * for more only where the window ends: it is a generator, driven either over one buffer
 * (`collectElementsSync`) or over a ByteSource that refills the window (`collectElements`). A header
 * received whole in memory is then walked without an `await` per element.
 *
 * The same walk tells where elements are (`collectElementsBefore`: up to Pixel Data's header, for
 * reading frames by range), and walks the items of encapsulated Pixel Data by their headers
 * (`encapsulatedItems`).
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

export interface CollectOptions {
  /** Walk to the end of the dataset even past the last wanted element (see `collectElements`). */
  toEnd?: boolean;
}

const SOP_CLASS_UID = 0x00080016;

/** A VR as its two bytes, compared without making a string of each element's. */
function vrCode(vr: string): number {
  return (vr.charCodeAt(0) << 8) | vr.charCodeAt(1);
}

const SHORT_LENGTH_CODES: ReadonlySet<number> = new Set([...SHORT_LENGTH_VRS].map(vrCode));
const UN = vrCode('UN');
const NO_TAGS: ReadonlySet<number> = new Set();
const EMPTY = Buffer.alloc(0);

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
  options: CollectOptions = {},
): Promise<Buffer> {
  const window: Window = { bytes: EMPTY, offset: 0, start: 0 };
  return drive(source, window, walkElements(window, encoding, wanted, extra, options.toEnd === true));
}

/** Where a top-level element is in its dataset (offsets from the dataset's first byte). */
export interface ElementPosition {
  tag: number;
  /** Its explicit VR; undefined in an implicit VR dataset. */
  vr: string | undefined;
  headerOffset: number;
  valueOffset: number;
  /** Its value's length as its header says: 0xFFFFFFFF when undefined (a sequence, encapsulated pixel data). */
  length: number;
}

export interface ElementsBefore {
  /** The bytes of the wanted elements before `stopAt`, as `collectElements` gives them. */
  elements: Buffer;
  /** Where each of those elements is. */
  positions: ReadonlyMap<number, ElementPosition>;
  /** The first element at or after `stopAt`, whose header only was read; undefined when the dataset ends before. */
  stoppedAt: ElementPosition | undefined;
}

/**
 * The walk of `collectElements` up to the header of the first top-level element with tag `stopAt`
 * or above, which is read but not its value (Pixel Data: where it is, without reading a byte of it);
 * with where each wanted element is. The dataset starts where the source does.
 */
export async function collectElementsBefore(source: ByteSource, encoding: DatasetEncoding, wanted: ReadonlySet<number>, stopAt: number): Promise<ElementsBefore> {
  const window: Window = { bytes: EMPTY, offset: 0, start: 0 };
  const marks: Marks = { stopAt, positions: new Map() };
  const elements = await drive(source, window, walkElements(window, encoding, wanted, undefined, false, marks));
  return { elements, positions: marks.positions, stoppedAt: marks.stoppedAt };
}

/** An item of an encapsulated value (PS3.5 A.4): the Basic Offset Table, or a fragment. */
export interface EncapsulatedItem {
  /** Where its value starts, in the same terms as the walk's `start`; its header is the 8 bytes before. */
  valueOffset: number;
  length: number;
  /** Whether the value starts a JPEG, JPEG-LS (FFD8) or JPEG 2000 (FF4F) codestream, as far as its first two bytes tell. */
  opensCodestream: boolean;
}

/**
 * The items of an encapsulated value by their 8-byte headers, their values skipped (never read, but
 * for each one's first two bytes, which the window mostly holds already), from the source's position,
 * which is `start` (an item's header), up to the Sequence Delimitation Item or to `end`, where an
 * item starts.
 */
export async function encapsulatedItems(source: ByteSource, start: number, end = Number.POSITIVE_INFINITY): Promise<EncapsulatedItem[]> {
  const window: Window = { bytes: EMPTY, offset: 0, start };
  return drive(source, window, walkItems(window, end));
}

/** `encapsulatedItems` over bytes in memory that hold the items from `start` to `end` (or to the delimiter) whole. */
export function encapsulatedItemsSync(bytes: Buffer, start: number, end = Number.POSITIVE_INFINITY): EncapsulatedItem[] {
  return driveSync(walkItems({ bytes, offset: 0, start }, end));
}

/** Encapsulated pixel data is in Explicit VR Little Endian datasets only (PS3.5 A.4). */
const ENCAPSULATED = datasetEncoding(EXPLICIT_VR_LITTLE_ENDIAN);

function* walkItems(window: Window, end: number): Walk<EncapsulatedItem[]> {
  const items: EncapsulatedItem[] = [];
  while (window.start + window.offset < end) {
    if (window.offset >= window.bytes.length && (yield END)) {
      throw new TruncatedDatasetError();
    }
    const item = readItemHeader(window, ENCAPSULATED) ?? (yield* waitFor(window, ENCAPSULATED, readItemHeader));
    if (item.tag === SEQUENCE_DELIMITATION) {
      return items;
    }
    if (item.tag !== ITEM || item.length === UNDEFINED_LENGTH) {
      throw new MalformedDatasetError('encapsulated pixel data holds something else than items of a defined length');
    }
    if (item.length >= 2 && window.bytes.length - window.offset < 2) {
      yield { kind: 'bytes', length: 2 };
    }
    const { bytes, offset } = window;
    const opening = item.length >= 2 ? (bytes[offset]! << 8) | bytes[offset + 1]! : 0;
    items.push({ valueOffset: window.start + offset, length: item.length, opensCodestream: opening === 0xffd8 || opening === 0xff4f });
    yield* take(window, item.length, null);
  }
  if (window.start + window.offset > end) {
    throw new MalformedDatasetError('an item of encapsulated pixel data runs past where the next frame starts');
  }
  return items;
}

/** `collectElements` over a whole dataset in memory: the same walk, without a promise. */
export function collectElementsSync(
  dataset: Buffer,
  encoding: DatasetEncoding,
  wanted: ReadonlySet<number>,
  extra?: ExtraElements,
  options: CollectOptions = {},
): Buffer {
  const window: Window = { bytes: dataset, offset: 0, start: 0 };
  return driveSync(walkElements(window, encoding, wanted, extra, options.toEnd === true));
}

/** Runs a walk over a ByteSource, which gives it more of the dataset where its window ends. */
async function drive<T>(source: ByteSource, window: Window, walk: Walk<T>): Promise<T> {
  let step = walk.next(false);
  while (step.done !== true) {
    step = walk.next(await serve(source, window, step.value));
  }
  return step.value;
}

/** Runs a walk over the bytes in its window, the whole of what there is. */
function driveSync<T>(walk: Walk<T>): T {
  let step = walk.next(false);
  while (step.done !== true) {
    // Past the end of the window is past the end of the dataset.
    if (step.value !== END) {
      throw new TruncatedDatasetError();
    }
    step = walk.next(true);
  }
  return step.value;
}

/** The bytes of the dataset in memory from the walk's position on: `bytes` from `offset`. */
interface Window {
  bytes: Buffer;
  offset: number;
  /** Where `bytes` starts in the dataset: the walk's position is `start + offset`. */
  start: number;
}

/** What the walk needs where its window ends. */
type Need =
  /** `length` bytes from the offset, in the window. */
  | { kind: 'bytes'; length: number }
  /** To pass `length` bytes from the offset, more than the window holds: the window is then empty. */
  | { kind: 'skip'; length: number }
  /** Whether the dataset ends where the window does: the walk resumes with the answer. */
  | { kind: 'end' };

const END: Need = { kind: 'end' };

type Walk<T> = Generator<Need, T, boolean>;

/** Gives the walk what it needs from a ByteSource: more bytes in the window, a skip, or whether the dataset ended. */
async function serve(source: ByteSource, window: Window, need: Need): Promise<boolean> {
  const held = window.bytes.length - window.offset;
  switch (need.kind) {
    case 'end':
      return source.atEnd();
    case 'skip':
      await source.skip(need.length - held);
      window.start += window.offset + need.length;
      window.bytes = EMPTY;
      window.offset = 0;
      return false;
    case 'bytes': {
      const more = await source.readAtLeast(need.length - held);
      window.start += window.offset;
      window.bytes = held === 0 ? more : Buffer.concat([window.bytes.subarray(window.offset), more]);
      window.offset = 0;
      return false;
    }
  }
}

/** What a walk notes besides the bytes it keeps: where the wanted elements are, and where it was told to stop. */
interface Marks {
  /** The walk stops at the header of the first element with this tag or a larger one, its value not read. */
  stopAt: number;
  positions: Map<number, ElementPosition>;
  stoppedAt?: ElementPosition;
}

function* walkElements(
  window: Window,
  encoding: DatasetEncoding,
  wanted: ReadonlySet<number>,
  extra: ExtraElements | undefined,
  toEnd: boolean,
  marks?: Marks,
): Walk<Buffer> {
  let lastWanted = Math.max(...wanted, marks?.stopAt ?? -1);
  let extraTags = NO_TAGS;
  const kept = new Sink();
  let previousTag = -1;
  while (window.offset < window.bytes.length || !(yield END)) {
    const header = readHeader(window, encoding) ?? (yield* waitFor(window, encoding, readHeader));
    // PS3.5 7.1: ascending order, each tag once, no file meta. Readers part ways on anything else: a
    // second StudyInstanceUID after the pixel data files the instance under one study for DCMTK
    // and under another for pydicom or dcmjs.
    if (header.tag <= previousTag) {
      throw new MalformedDatasetError(`element (${tagText(header.tag)}) after (${tagText(previousTag)}): not in ascending order`);
    }
    if (header.tag >>> 16 === FILE_META_GROUP) {
      throw new MalformedDatasetError(`a file meta element (${tagText(header.tag)}) in the dataset`);
    }
    previousTag = header.tag;
    if (marks !== undefined) {
      const valueOffset = window.start + window.offset;
      const position = { tag: header.tag, vr: header.vr === 0 ? undefined : String.fromCharCode(header.vr >> 8, header.vr & 0xff), headerOffset: valueOffset - header.size, valueOffset, length: header.length };
      if (header.tag >= marks.stopAt) {
        marks.stoppedAt = position;
        break;
      }
      if (wanted.has(header.tag)) marks.positions.set(header.tag, position);
    }
    // Top-level elements come in ascending tag order: nothing we want can follow.
    if (header.tag > lastWanted && !toEnd) {
      break;
    }
    let sink: Sink | null = null;
    if (wanted.has(header.tag)) {
      sink = kept;
      kept.push(justRead(window, header.size));
      if (header.tag === SOP_CLASS_UID && extra && header.length !== UNDEFINED_LENGTH) {
        const value = yield* read(window, header.length);
        kept.push(value);
        extraTags = extra.forSopClass(value.toString('latin1').replace(/[\0 ]+$/, '')) ?? extraTags;
        lastWanted = Math.max(lastWanted, ...extraTags);
        continue;
      }
    } else if (extraTags.has(header.tag)) {
      sink = new Sink(extra?.maxBytes);
      sink.push(justRead(window, header.size));
    }
    if (!consumedInWindow(window, header.length, sink)) {
      yield* consumeValue(window, encoding, header, sink, 0);
    }
    if (sink === kept || sink === null) {
      continue;
    }
    if (sink.overflowed) {
      extra?.omitted?.(header.tag);
    } else {
      kept.push(...sink.parts);
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

const FILE_META_GROUP = 0x0002;

function tagText(tag: number): string {
  const hex = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `${hex.slice(0, 4)},${hex.slice(4)}`;
}

export function tagNumber(hex: string): number {
  return Number.parseInt(hex, 16) >>> 0;
}

function* consumeValue(
  window: Window,
  encoding: DatasetEncoding,
  header: ElementHeader,
  sink: Sink | null,
  depth: number,
): Walk<void> {
  if (header.length !== UNDEFINED_LENGTH) {
    yield* take(window, header.length, sink);
    return;
  }
  // An undefined-length UN holds a sequence encoded in Implicit VR Little Endian (PS3.5 6.2.2).
  const inner = encoding.explicitVr && header.vr === UN ? IMPLICIT_LITTLE : encoding;
  yield* consumeItems(window, inner, sink, depth + 1);
}

/** Items up to the sequence delimiter; also covers encapsulated fragments, which are items too. */
function* consumeItems(window: Window, encoding: DatasetEncoding, sink: Sink | null, depth: number): Walk<void> {
  if (depth > MAX_NESTING) {
    throw new MalformedDatasetError('sequences nested too deeply');
  }
  for (;;) {
    const item = readItemHeader(window, encoding) ?? (yield* waitFor(window, encoding, readItemHeader));
    sink?.push(justRead(window, item.size));
    if (item.tag === SEQUENCE_DELIMITATION) {
      return;
    }
    if (item.tag !== ITEM) {
      throw new MalformedDatasetError('expected an item in a sequence of undefined length');
    }
    if (item.length === UNDEFINED_LENGTH) {
      yield* consumeItemElements(window, encoding, sink, depth);
    } else if (!consumedInWindow(window, item.length, sink)) {
      yield* take(window, item.length, sink);
    }
  }
}

function* consumeItemElements(window: Window, encoding: DatasetEncoding, sink: Sink | null, depth: number): Walk<void> {
  for (;;) {
    const header = readHeader(window, encoding) ?? (yield* waitFor(window, encoding, readHeader));
    sink?.push(justRead(window, header.size));
    if (header.tag === ITEM_DELIMITATION) {
      return;
    }
    if (!consumedInWindow(window, header.length, sink)) {
      yield* consumeValue(window, encoding, header, sink, depth);
    }
  }
}

interface ElementHeader {
  tag: number;
  /** The VR's two bytes (`vrCode`), 0 for none (implicit VR, items, delimiters). */
  vr: number;
  length: number;
  /** Bytes of the header itself: 8, or 12 for an explicit VR with a 4-byte length. */
  size: number;
}

/** Reads a header when the window holds it whole; undefined (nothing read) when it does not. */
type HeaderReader = (window: Window, encoding: DatasetEncoding) => ElementHeader | undefined;

/** Asks for bytes until the header at the offset is whole in the window. */
function* waitFor(window: Window, encoding: DatasetEncoding, readAt: HeaderReader): Walk<ElementHeader> {
  for (;;) {
    // Eight bytes give the tag and the VR; the VR tells whether four more are needed.
    yield { kind: 'bytes', length: window.bytes.length - window.offset < 8 ? 8 : 12 };
    const header = readAt(window, encoding);
    if (header !== undefined) {
      return header;
    }
  }
}

function readHeader(window: Window, encoding: DatasetEncoding): ElementHeader | undefined {
  const { bytes, offset } = window;
  if (bytes.length - offset < 8) {
    return undefined;
  }
  const { littleEndian } = encoding;
  const tag = readTag(bytes, offset, littleEndian);
  // Items and delimiters have no VR, in every transfer syntax.
  if (!encoding.explicitVr || tag >>> 16 === 0xfffe) {
    window.offset = offset + 8;
    return { tag, vr: 0, length: readUint32(bytes, offset + 4, littleEndian), size: 8 };
  }
  const vr = (bytes[offset + 4]! << 8) | bytes[offset + 5]!;
  if (SHORT_LENGTH_CODES.has(vr)) {
    window.offset = offset + 8;
    const length = littleEndian ? bytes.readUInt16LE(offset + 6) : bytes.readUInt16BE(offset + 6);
    return { tag, vr, length, size: 8 };
  }
  if (!isUpperCase(vr >> 8) || !isUpperCase(vr & 0xff)) {
    throw new MalformedDatasetError('an element has no valid VR in an explicit VR dataset');
  }
  // A long VR, or one defined after this code was written: those all have a 4-byte length (PS3.5 6.2).
  if (bytes.length - offset < 12) {
    return undefined;
  }
  window.offset = offset + 12;
  return { tag, vr, length: readUint32(bytes, offset + 8, littleEndian), size: 12 };
}

/** An item or a delimiter: a tag and a 4-byte length, whatever the tag turns out to be. */
function readItemHeader(window: Window, encoding: DatasetEncoding): ElementHeader | undefined {
  const { bytes, offset } = window;
  if (bytes.length - offset < 8) {
    return undefined;
  }
  window.offset = offset + 8;
  const tag = readTag(bytes, offset, encoding.littleEndian);
  return { tag, vr: 0, length: readUint32(bytes, offset + 4, encoding.littleEndian), size: 8 };
}

function isUpperCase(byte: number): boolean {
  return byte >= 0x41 && byte <= 0x5a;
}

function readTag(bytes: Buffer, offset: number, littleEndian: boolean): number {
  const group = littleEndian ? bytes.readUInt16LE(offset) : bytes.readUInt16BE(offset);
  const element = littleEndian ? bytes.readUInt16LE(offset + 2) : bytes.readUInt16BE(offset + 2);
  return ((group << 16) | element) >>> 0;
}

function readUint32(bytes: Buffer, offset: number, littleEndian: boolean): number {
  return littleEndian ? bytes.readUInt32LE(offset) : bytes.readUInt32BE(offset);
}

/** The `length` bytes the walk has just passed (a header), as a view. */
function justRead(window: Window, length: number): Buffer {
  return window.bytes.subarray(window.offset - length, window.offset);
}

/**
 * Passes or keeps a defined-length value that the window holds whole: most values, without a
 * generator of their own. False, with nothing done, for any other.
 */
function consumedInWindow(window: Window, length: number, sink: Sink | null): boolean {
  if (length === UNDEFINED_LENGTH || window.bytes.length - window.offset < length) {
    return false;
  }
  window.offset += length;
  if (sink !== null && !sink.overflowed) {
    sink.push(justRead(window, length));
  }
  return true;
}

function* read(window: Window, length: number): Walk<Buffer> {
  if (window.bytes.length - window.offset < length) {
    yield { kind: 'bytes', length };
  }
  window.offset += length;
  return justRead(window, length);
}

/** Passes a value, or keeps it in `sink`; skipped bytes beyond the window are never read. */
function* take(window: Window, length: number, sink: Sink | null): Walk<void> {
  if (sink !== null && !sink.overflowed) {
    sink.push(yield* read(window, length));
  } else if (window.bytes.length - window.offset < length) {
    yield { kind: 'skip', length };
  } else {
    window.offset += length;
  }
}
