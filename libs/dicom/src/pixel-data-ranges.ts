import { open, type FileHandle } from 'node:fs/promises';
import { FileByteSource, TruncatedDatasetError } from './byte-source';
import { datasetEncoding } from './dataset-encoding';
import { readDataset } from './dataset-reader';
import { numberAt, textAt } from './dicom-json';
import { tagsOf } from './dictionary';
import { collectElementsBefore, encapsulatedItems, encapsulatedItemsSync, MalformedDatasetError, tagNumber, type EncapsulatedItem } from './element-walker';
import { swapped, swapWidth } from './explicit-vr-choice';
import { readPart10Head } from './part10';
import {
  checkNativeLength,
  fragmentsOfFrames,
  hasEncapsulatedPixelData,
  MalformedPixelDataError,
  nativeFrameAt,
  nativeFrameBits,
  NoPixelDataError,
  type FrameGeometry,
} from './pixel-data';

/**
 * The frames of a Part 10 file's Pixel Data, read from the file by their byte ranges: a frame of a
 * 1 GB tomosynthesis or of a long cine costs its own bytes, never the file's. First an index of the
 * file (`indexPixelData`): its header walked up to Pixel Data by the element walker, whose value is
 * not read; then where each frame is — native, by frame size from the value's first byte;
 * encapsulated (PS3.5 A.4), the items' 8-byte headers walked, the fragments' bytes skipped, and
 * grouped into frames by the Extended Offset Table (7FE0,0001/0002) or the Basic Offset Table when
 * it names those items, else by `fragmentsOfFrames` (the rule of the whole-file reader). The
 * index is small (a few numbers a frame): a caller keeps it for the next requests. Then
 * `readFrames` reads the asked frames' bytes only. The frames are those of `readPixelFrames`, which
 * reads the file whole (checked against it and pydicom on real files), but where a table does not
 * name the items (encapsulatedLayout).
 *
 * A deflated dataset (PS3.5 A.5) is one deflate stream: a byte of it cannot be found without
 * inflating all those before. It is not indexed; `readPixelFrames` reads it whole.
 */

/** The Image Pixel attributes of an instance (PS3.3 C.7.6.3), as a decoder wants them. */
export interface ImagePixel extends FrameGeometry {
  bitsStored: number | undefined;
  highBit: number | undefined;
  pixelRepresentation: number | undefined;
  planarConfiguration: number | undefined;
}

/** Where a frame's items are in the file: from its first item's header to `end`, or to the delimiter when undefined. */
export interface FrameItems {
  start: number;
  end: number | undefined;
}

export type FramesLayout =
  /**
   * Native: the frames one after the other from `valueOffset`, `frameBits` each; `cannotCut` says
   * why there are no frames to read (no Rows, a value too short), when the value is still there.
   */
  | { kind: 'native'; valueOffset: number; valueLength: number; frameBits: number; bigEndianSwapWidth: number; cannotCut?: string }
  /** Encapsulated: each frame's items. */
  | { kind: 'encapsulated'; frames: FrameItems[]; found: 'extended offset table' | 'basic offset table' | 'fragments walked' };

export interface PixelDataIndex {
  file: string;
  /** The file's size when it was indexed; a file found of another size is not read on this index. */
  fileSize: number;
  transferSyntaxUid: string;
  encapsulated: boolean;
  littleEndian: boolean;
  frameCount: number;
  image: ImagePixel;
  layout: FramesLayout;
  /** What a single-frame copy of the instance is made of (`singleFramePart10`), as positions in the file. */
  parts: {
    /** Where the header before Pixel Data (and before an Extended Offset Table, which would not hold) ends. */
    headerEnd: number;
    /** The Pixel Data element's header. */
    pixelDataHeader: { offset: number; size: number };
    /** The value of Number of Frames, when the dataset has one. */
    numberOfFrames: { offset: number; length: number } | undefined;
  };
}

const TAG = tagsOf([
  'SamplesPerPixel',
  'PhotometricInterpretation',
  'PlanarConfiguration',
  'NumberOfFrames',
  'Rows',
  'Columns',
  'BitsAllocated',
  'BitsStored',
  'HighBit',
  'PixelRepresentation',
  'ExtendedOffsetTable',
  'ExtendedOffsetTableLengths',
  'PixelData',
]);
const PIXEL_DATA = tagNumber(TAG.PixelData);
const EXTENDED_OFFSET_TABLE = tagNumber(TAG.ExtendedOffsetTable);
const EXTENDED_OFFSET_TABLE_LENGTHS = tagNumber(TAG.ExtendedOffsetTableLengths);
const WANTED: ReadonlySet<number> = new Set(Object.values<string>(TAG).map(tagNumber));
const UNDEFINED_LENGTH = 0xffffffff;
const ITEM_HEADER_BYTES = 8;

/**
 * Where the frames of `file` are, its Pixel Data not read (but for the Basic Offset Table, or the
 * Extended one, and, without either, the items' headers); undefined for a deflated dataset, which
 * cannot be read by range. NoPixelDataError without Pixel Data, MalformedPixelDataError when it
 * cannot be cut into the frames Number of Frames says (native Pixel Data is then indexed still, for
 * its value as bulk data: `readFrames` throws that error).
 */
export async function indexPixelData(file: string): Promise<PixelDataIndex | undefined> {
  const { transferSyntaxUid, datasetOffset, fileSize, head } = await readPart10Head(file);
  const encoding = datasetEncoding(transferSyntaxUid);
  if (encoding.deflated) {
    return undefined;
  }
  const source = new FileByteSource(file, datasetOffset, fileSize, head.subarray(datasetOffset));
  let walked;
  try {
    walked = await collectElementsBefore(source, encoding, WANTED, PIXEL_DATA);
  } catch (error) {
    throw asPixelDataError(error);
  } finally {
    await source.close();
  }
  const { elements, positions, stoppedAt } = walked;
  if (stoppedAt?.tag !== PIXEL_DATA) {
    throw new NoPixelDataError('the instance has no Pixel Data');
  }
  const { dataset } = readDataset(elements, encoding);
  const number = (tag: string): number | undefined => numberAt(dataset, tag);
  const image: ImagePixel = {
    rows: number(TAG.Rows) ?? 0,
    columns: number(TAG.Columns) ?? 0,
    samplesPerPixel: number(TAG.SamplesPerPixel) ?? 1,
    bitsAllocated: number(TAG.BitsAllocated) ?? 0,
    photometricInterpretation: textAt(dataset, TAG.PhotometricInterpretation) ?? '',
    bitsStored: number(TAG.BitsStored),
    highBit: number(TAG.HighBit),
    pixelRepresentation: number(TAG.PixelRepresentation),
    planarConfiguration: number(TAG.PlanarConfiguration),
  };
  const declaredFrames = number(TAG.NumberOfFrames);
  const frameCount = declaredFrames !== undefined && Number.isInteger(declaredFrames) && declaredFrames > 0 ? declaredFrames : 1;
  const valueOffset = datasetOffset + stoppedAt.valueOffset;
  const extendedTable = positions.get(EXTENDED_OFFSET_TABLE);
  const numberOfFrames = positions.get(tagNumber(TAG.NumberOfFrames));
  const parts = {
    headerEnd: datasetOffset + (extendedTable?.headerOffset ?? stoppedAt.headerOffset),
    pixelDataHeader: { offset: datasetOffset + stoppedAt.headerOffset, size: stoppedAt.valueOffset - stoppedAt.headerOffset },
    numberOfFrames: numberOfFrames && numberOfFrames.length !== UNDEFINED_LENGTH ? { offset: datasetOffset + numberOfFrames.valueOffset, length: numberOfFrames.length } : undefined,
  };
  const common = { file, fileSize, transferSyntaxUid, littleEndian: encoding.littleEndian, frameCount, image, parts };
  if (!hasEncapsulatedPixelData(transferSyntaxUid)) {
    if (stoppedAt.length === UNDEFINED_LENGTH) {
      throw new MalformedPixelDataError('native Pixel Data of undefined length');
    }
    if (valueOffset + stoppedAt.length > fileSize) {
      throw new MalformedPixelDataError(`Pixel Data of ${stoppedAt.length} bytes runs past the end of the file`);
    }
    // Big endian samples are swapped by Bits Allocated (OW), as the whole-instance rewrite does (./explicit-little-endian).
    const bigEndianSwapWidth = encoding.littleEndian ? 1 : swapWidth(PIXEL_DATA, stoppedAt.vr ?? 'OW', { bitsAllocated: image.bitsAllocated });
    const layout = { kind: 'native' as const, valueOffset, valueLength: stoppedAt.length, frameBits: 0, bigEndianSwapWidth };
    try {
      layout.frameBits = nativeFrameBits(image);
      checkNativeLength(stoppedAt.length, frameCount, layout.frameBits);
    } catch (error) {
      // Frames cannot be cut; the value itself is still bulk data.
      if (!(error instanceof MalformedPixelDataError)) throw error;
      return { ...common, encapsulated: false, layout: { ...layout, cannotCut: error.message } };
    }
    return { ...common, encapsulated: false, layout };
  }
  if (stoppedAt.length !== UNDEFINED_LENGTH) {
    throw new MalformedPixelDataError('encapsulated Pixel Data of a defined length (PS3.5 A.4 requires items up to a delimiter)');
  }
  const handle = await open(file, 'r');
  try {
    const extended = extendedTable && positions.get(EXTENDED_OFFSET_TABLE_LENGTHS);
    const layout = await encapsulatedLayout(file, handle, fileSize, valueOffset, frameCount, extended && extendedTable ? [datasetOffset + extendedTable.valueOffset, extendedTable.length, datasetOffset + extended.valueOffset, extended.length] : undefined);
    return { ...common, encapsulated: true, layout };
  } finally {
    await handle.close();
  }
}

/** What the walk of the items' headers reads at a time (a window of 64 KiB read 21 MB to index 300 frames of 1 MiB). */
const ITEM_WALK_WINDOW_BYTES = 4096;

/**
 * Where each frame's items are. The items' headers are always walked (once per index: headers only,
 * the fragments skipped), and a table is believed only where it names real items: the Extended
 * Offset Table when each offset is an item's start and each length that item's (one fragment a
 * frame, PS3.5 A.4), else the Basic Offset Table when each offset is an item's start, in order; a
 * frame is then its items up to the next frame's first. Otherwise frames are told apart as
 * `readPixelFrames` tells them (`fragmentsOfFrames`). Checking only that an offset lands on the
 * bytes of an item header was not enough: `FE FF 00 E0` occurs inside JPEG data, and a table whose
 * entry pointed there served the wrong bytes as a frame (a review's probe, 2026-12-08).
 */
async function encapsulatedLayout(
  file: string,
  handle: FileHandle,
  fileSize: number,
  valueOffset: number,
  frameCount: number,
  extended: [tableOffset: number, tableLength: number, lengthsOffset: number, lengthsLength: number] | undefined,
): Promise<FramesLayout> {
  const basic = await readAt(handle, valueOffset, ITEM_HEADER_BYTES);
  if (basic.readUInt16LE(0) !== 0xfffe || basic.readUInt16LE(2) !== 0xe000 || basic.readUInt32LE(4) % 4 !== 0) {
    throw new MalformedPixelDataError('encapsulated Pixel Data does not start with a Basic Offset Table item');
  }
  const basicLength = basic.readUInt32LE(4);
  // Offsets in either table are from the first fragment's item header (PS3.5 A.4, PS3.3 C.7.6.3.1.8).
  const firstFragment = valueOffset + ITEM_HEADER_BYTES + basicLength;
  if (firstFragment > fileSize) {
    throw new MalformedPixelDataError('the Basic Offset Table runs past the end of the file');
  }
  // Item headers a small read each: the fragments between them are skipped, never read.
  const source = new FileByteSource(file, firstFragment, fileSize, undefined, undefined, ITEM_WALK_WINDOW_BYTES);
  let items: EncapsulatedItem[];
  try {
    items = await encapsulatedItems(source, firstFragment);
  } catch (error) {
    throw asPixelDataError(error);
  } finally {
    await source.close();
  }
  const itemAt = new Map(items.map((item, at) => [item.valueOffset - ITEM_HEADER_BYTES - firstFragment, at]));
  const spanOf = (fragments: readonly EncapsulatedItem[]): FrameItems => {
    const [first, last] = [fragments[0], fragments[fragments.length - 1]];
    return first && last ? { start: first.valueOffset - ITEM_HEADER_BYTES, end: last.valueOffset + last.length } : { start: firstFragment, end: firstFragment };
  };
  if (extended) {
    const [tableOffset, tableLength, lengthsOffset, lengthsLength] = extended;
    if (tableLength === frameCount * 8 && lengthsLength === frameCount * 8) {
      const offsets = uint64s(await readAt(handle, tableOffset, tableLength));
      const lengths = uint64s(await readAt(handle, lengthsOffset, lengthsLength));
      const firsts = offsets.map((offset) => itemAt.get(offset));
      // One fragment a frame, of the length the table says (a writer may give it before the padding).
      const believed = firsts.every((at, frame) => {
        const item = at === undefined ? undefined : items[at];
        const length = lengths[frame] as number;
        return item !== undefined && (item.length === length || item.length === length + (length % 2)) && (frame === 0 || at! > firsts[frame - 1]!);
      });
      if (believed) return { kind: 'encapsulated', frames: firsts.map((at) => spanOf([items[at!]!])), found: 'extended offset table' };
    }
  }
  if (basicLength > 0 && basicLength === frameCount * 4) {
    const table = await readAt(handle, valueOffset + ITEM_HEADER_BYTES, basicLength);
    const firsts = Array.from({ length: frameCount }, (_, frame) => itemAt.get(table.readUInt32LE(frame * 4)));
    const believed = firsts[0] === 0 && firsts.every((at, frame) => at !== undefined && (frame === 0 || at > firsts[frame - 1]!));
    if (believed) {
      const frames = firsts.map((at, frame) => spanOf(items.slice(at, firsts[frame + 1] ?? items.length)));
      return { kind: 'encapsulated', frames, found: 'basic offset table' };
    }
  }
  // No table, or one that does not name the items: as `readPixelFrames` tells the fragments apart.
  return { kind: 'encapsulated', frames: fragmentsOfFrames(items, frameCount, (item) => item.opensCodestream).map(spanOf), found: 'fragments walked' };
}

function uint64s(bytes: Buffer): number[] {
  return Array.from({ length: bytes.length / 8 }, (_, index) => Number(bytes.readBigUInt64LE(index * 8)));
}

export interface ReadFramesOptions {
  /** Native big endian frames swapped to little endian (by Bits Allocated), as Explicit VR Little Endian holds them. */
  littleEndian?: boolean;
}

/**
 * The frames numbered `frames` (from 0, in that order) of an indexed file, each read alone: native,
 * the bytes of the frame (a 1-bit frame that starts inside a byte shifted to bit 0, as
 * `nativeFrame`), big endian as stored unless `littleEndian`; encapsulated, the frame's fragments
 * joined (its compressed bitstream). A frame the instance has not is a RangeError.
 */
export async function readFrames(index: PixelDataIndex, frames: readonly number[], options: ReadFramesOptions = {}): Promise<Uint8Array[]> {
  const missing = frames.find((frame) => !Number.isInteger(frame) || frame < 0 || frame >= index.frameCount);
  if (missing !== undefined) {
    throw new RangeError(`the instance has no frame ${missing + 1}`);
  }
  const handle = await openIndexed(index);
  try {
    const { layout } = index;
    if (layout.kind === 'native') {
      if (layout.cannotCut !== undefined) throw new MalformedPixelDataError(layout.cannotCut);
      const swapWidth = options.littleEndian === true ? layout.bigEndianSwapWidth : 1;
      // Every frame: one read of the whole value, as the whole-file reader cuts it.
      if (frames.length === index.frameCount && frames.length > 1) {
        const { bytes } = await nativeSpan(handle, layout, 0, layout.valueLength, swapWidth);
        return frames.map((frame) => nativeFrameAt(bytes, frame * layout.frameBits, layout.frameBits));
      }
      const read: Uint8Array[] = [];
      for (const frame of frames) {
        const startBit = frame * layout.frameBits;
        const span = await nativeSpan(handle, layout, Math.floor(startBit / 8), Math.ceil((startBit + layout.frameBits) / 8), swapWidth);
        read.push(nativeFrameAt(span.bytes, startBit - span.start * 8, layout.frameBits));
      }
      return read;
    }
    const read: Uint8Array[] = [];
    for (const frame of frames) {
      const { bytes, items, start } = await frameItems(handle, index, layout.frames[frame] as FrameItems);
      const values = items.map((item) => bytes.subarray(item.valueOffset - start, item.valueOffset - start + item.length));
      read.push(values.length === 1 ? (values[0] as Buffer) : Buffer.concat(values));
    }
    return read;
  } finally {
    await handle.close();
  }
}

type NativeLayout = Extract<FramesLayout, { kind: 'native' }>;

/** The pieces `nativePixelData` reads at a time: a multiple of every sample's size, so that each piece is swapped on its own. */
const PIECE_BYTES = 1024 * 1024;

/**
 * The whole value of native Pixel Data (its bulk data), read piece after piece of 1 MiB as the
 * caller takes them, never held whole; big endian as stored unless `littleEndian`. Each piece is a
 * buffer of its own. An encapsulated index has no such value: a RangeError.
 */
export async function* nativePixelData(index: PixelDataIndex, options: ReadFramesOptions = {}): AsyncGenerator<Uint8Array> {
  const { layout } = index;
  if (layout.kind !== 'native') {
    throw new RangeError('encapsulated Pixel Data is read frame by frame');
  }
  const swapWidth = options.littleEndian === true ? layout.bigEndianSwapWidth : 1;
  const handle = await openIndexed(index);
  try {
    for (let from = 0; from < layout.valueLength; from += PIECE_BYTES) {
      yield (await nativeSpan(handle, layout, from, Math.min(from + PIECE_BYTES, layout.valueLength), swapWidth)).bytes;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Bytes `from` to `to` of native Pixel Data, widened to whole samples when they are to be swapped
 * (big endian to little), then swapped; `start` says where the bytes begin in the value.
 */
async function nativeSpan(handle: FileHandle, layout: NativeLayout, from: number, to: number, swapWidth: number): Promise<{ bytes: Buffer; start: number }> {
  const start = Math.floor(from / swapWidth) * swapWidth;
  const end = Math.min(Math.ceil(to / swapWidth) * swapWidth, layout.valueLength);
  const bytes = await readAt(handle, layout.valueOffset + start, end - start);
  // A trailing part of a sample (malformed) is left as it is, as `swapped` does for the whole value.
  return { bytes: swapWidth > 1 ? swapped(bytes, swapWidth) : bytes, start };
}

/** A frame's items, read in one piece with their headers: up to the next frame's, or, for the last frame without a table's end, up to the delimiter. */
async function frameItems(handle: FileHandle, index: PixelDataIndex, { start, end }: FrameItems): Promise<{ bytes: Buffer; items: EncapsulatedItem[]; start: number }> {
  try {
    if (end !== undefined) {
      const bytes = await readAt(handle, start, end - start);
      return { bytes, items: encapsulatedItemsSync(bytes, start, end), start };
    }
    const source = new FileByteSource(index.file, start, index.fileSize);
    let items: EncapsulatedItem[];
    try {
      items = await encapsulatedItems(source, start);
    } finally {
      await source.close();
    }
    const last = items[items.length - 1];
    return { bytes: await readAt(handle, start, last ? last.valueOffset + last.length - start : 0), items, start };
  } catch (error) {
    throw asPixelDataError(error);
  }
}

/**
 * A Part 10 file of the instance with only frame `frame` (from 0): its File Meta Information and
 * every element before Pixel Data as stored, Number of Frames made 1 (its value "1" padded with
 * spaces to its stored length, which IS allows), an Extended Offset Table left out (it described
 * the other frames), and Pixel Data holding that frame — native, its bytes as `readFrames` gives
 * them in the stored byte order; encapsulated, an empty Basic Offset Table and the frame's items as
 * stored. For a decoder that takes whole files (rendering): the header, and one frame's bytes, are
 * all that is read. Elements after Pixel Data (padding, signatures) are left out.
 */
export async function singleFramePart10(index: PixelDataIndex, frame: number): Promise<Buffer> {
  const [pixels] = index.layout.kind === 'native' ? await readFrames(index, [frame]) : [undefined];
  const handle = await openIndexed(index);
  try {
    const { headerEnd, pixelDataHeader, numberOfFrames } = index.parts;
    const header = await readAt(handle, 0, headerEnd);
    if (numberOfFrames !== undefined && numberOfFrames.length > 0) {
      header.write('1'.padEnd(numberOfFrames.length, ' '), numberOfFrames.offset, 'latin1');
    }
    const elementHeader = await readAt(handle, pixelDataHeader.offset, pixelDataHeader.size);
    if (pixels !== undefined) {
      const value = pixels.length % 2 === 0 ? pixels : Buffer.concat([pixels, Buffer.alloc(1)]);
      // The length is the header's last four bytes, in explicit and implicit VR alike.
      if (index.littleEndian) elementHeader.writeUInt32LE(value.length, elementHeader.length - 4);
      else elementHeader.writeUInt32BE(value.length, elementHeader.length - 4);
      return Buffer.concat([header, elementHeader, value]);
    }
    const { bytes, items, start } = await frameItems(handle, index, (index.layout as Extract<FramesLayout, { kind: 'encapsulated' }>).frames[frame] as FrameItems);
    const last = items[items.length - 1];
    const frameBytes = bytes.subarray(0, last ? last.valueOffset + last.length - start : 0);
    return Buffer.concat([header, elementHeader, itemHeader(0xe000, 0), frameBytes, itemHeader(0xe0dd, 0)]);
  } finally {
    await handle.close();
  }
}

function itemHeader(element: number, length: number): Buffer {
  const header = Buffer.alloc(ITEM_HEADER_BYTES);
  header.writeUInt16LE(0xfffe, 0);
  header.writeUInt16LE(element, 2);
  header.writeUInt32LE(length, 4);
  return header;
}

/** The indexed file, opened; one of another size than when it was indexed (replaced since) is refused. */
async function openIndexed(index: PixelDataIndex): Promise<FileHandle> {
  const handle = await open(index.file, 'r');
  const { size } = await handle.stat();
  if (size !== index.fileSize) {
    await handle.close();
    throw new Error(`${index.file} changed since its frames were indexed (${index.fileSize} bytes, now ${size})`);
  }
  return handle;
}

/** `length` bytes at `position`, all of them (TruncatedDatasetError if the file ends before). */
async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(bytes, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new MalformedPixelDataError('Pixel Data runs past the end of the file');
    filled += bytesRead;
  }
  return bytes;
}

/** The walker's errors on Pixel Data are Pixel Data that cannot be cut into frames. */
function asPixelDataError(error: unknown): unknown {
  if (error instanceof MalformedDatasetError || error instanceof TruncatedDatasetError) {
    return new MalformedPixelDataError(error.message);
  }
  return error;
}
