import { readFile } from 'node:fs/promises';
import { data } from 'dcmjs';
import { silenceDcmjs } from './dcmjs-logs';

/**
 * The values a DICOMweb service serves as bulk data, read from a Part 10 file with dcmjs: the frames
 * of Pixel Data (native: cut by frame size; encapsulated: one compressed frame each, as stored) and
 * any other binary attribute by its tag path (as in the BulkDataURIs of `readPart10`). The file is
 * read whole: fine for single images and modest multi-frames, and the one way for a deflated
 * dataset. ./pixel-data-ranges reads a frame from its own bytes in the file, by the rules here
 * (`nativeFrame`, `fragmentsOfFrames`).
 */

export interface PixelFrames {
  transferSyntaxUid: string;
  /** True when each frame is a compressed bitstream (JPEG, JPEG-LS, JPEG 2000, RLE…). */
  encapsulated: boolean;
  frames: Uint8Array[];
}

export class NoPixelDataError extends Error {
  override readonly name = 'NoPixelDataError';
}

type DcmjsElement = { vr: string; Value?: unknown[] };

const PIXEL_DATA = '7FE00010';

async function dictOf(input: Uint8Array | string): Promise<{ meta: Record<string, DcmjsElement>; dict: Record<string, DcmjsElement> }> {
  silenceDcmjs();
  const bytes = typeof input === 'string' ? await readFile(input) : input;
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return data.DicomMessage.readFile(buffer, { ignoreErrors: true }) as unknown as { meta: Record<string, DcmjsElement>; dict: Record<string, DcmjsElement> };
}

const first = (element: DcmjsElement | undefined): number => Number(element?.Value?.[0] ?? 0);

/** The transfer syntaxes whose Pixel Data is native (PS3.5 8.2): every other one encapsulates it, a compressed bitstream per frame (A.4). */
const NATIVE_PIXEL_SYNTAXES: ReadonlySet<string> = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99']);

/** Whether Pixel Data in `transferSyntaxUid` is encapsulated (PS3.5 A.4), i.e. not native. */
export const hasEncapsulatedPixelData = (transferSyntaxUid: string): boolean => !NATIVE_PIXEL_SYNTAXES.has(transferSyntaxUid);

export async function readPixelFrames(input: Uint8Array | string): Promise<PixelFrames> {
  const { meta, dict } = await dictOf(input);
  const transferSyntaxUid = String(meta['00020010']?.Value?.[0] ?? '');
  const pixels = dict[PIXEL_DATA];
  if (!pixels?.Value || pixels.Value.length === 0) {
    throw new NoPixelDataError('the instance has no Pixel Data');
  }
  const values = pixels.Value as ArrayBuffer[];
  const encapsulated = hasEncapsulatedPixelData(transferSyntaxUid);
  const frameCount = Math.max(1, first(dict['00280008']));
  if (encapsulated) {
    return { transferSyntaxUid, encapsulated, frames: framesOfFragments(values.map((value) => new Uint8Array(value)), frameCount) };
  }
  const all = new Uint8Array(values[0] as ArrayBuffer);
  const frameBits = nativeFrameBits({
    rows: first(dict['00280010']),
    columns: first(dict['00280011']),
    samplesPerPixel: first(dict['00280002']),
    bitsAllocated: first(dict['00280100']),
    photometricInterpretation: String(dict['00280004']?.Value?.[0] ?? ''),
  });
  checkNativeLength(all.length, frameCount, frameBits);
  return { transferSyntaxUid, encapsulated, frames: Array.from({ length: frameCount }, (_, frame) => nativeFrame(all, frame, frameBits)) };
}

/** The Image Pixel attributes (PS3.3 C.7.6.3) that tell the size of a native frame. */
export interface FrameGeometry {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  photometricInterpretation: string;
}

/** Bits of one frame of native Pixel Data; a MalformedPixelDataError when the attributes do not tell. */
export function nativeFrameBits(geometry: FrameGeometry): number {
  // YBR_FULL_422 holds two luminance samples and one pair of chrominance samples per two pixels:
  // two samples a pixel, not three (PS3.3 C.7.6.3.1.2).
  const samples = geometry.photometricInterpretation.trim() === 'YBR_FULL_422' ? 2 : Math.max(1, geometry.samplesPerPixel);
  const frameBits = geometry.rows * geometry.columns * samples * geometry.bitsAllocated;
  if (!(frameBits > 0)) {
    throw new MalformedPixelDataError('the instance has no Rows, Columns or Bits Allocated to cut its Pixel Data into frames');
  }
  return frameBits;
}

/** Native Pixel Data of `length` bytes must hold the frames Number of Frames says: fewer is an error, not fewer frames. */
export function checkNativeLength(length: number, frameCount: number, frameBits: number): void {
  if (frameCount * frameBits > length * 8) {
    throw new MalformedPixelDataError(`Pixel Data of ${length} bytes is too short for ${frameCount} frames of ${frameBits} bits`);
  }
}

/**
 * One frame of native Pixel Data, starting at bit 0 of its first byte. Frames follow one another
 * bit after bit (PS3.5 8.1.1, 8.2): with Bits Allocated 1 and Rows × Columns not a multiple of 8 (a
 * binary SEG, a single bit secondary capture), a frame after the first starts inside a byte. Such a
 * frame is shifted to start on a byte, the bits after its end zero (what PS3.18 8.7.3.3.1 asks of a
 * frame sent on its own); a frame of whole bytes is the stored bytes, not a copy.
 */
export function nativeFrame(pixelData: Uint8Array, frame: number, frameBits: number): Uint8Array {
  return nativeFrameAt(pixelData, frame * frameBits, frameBits);
}

/** `nativeFrame` of the frame that starts at bit `startBit` of `pixelData` (a part of Pixel Data read for it). */
export function nativeFrameAt(pixelData: Uint8Array, startBit: number, frameBits: number): Uint8Array {
  const start = Math.floor(startBit / 8);
  const length = Math.ceil(frameBits / 8);
  const shift = startBit % 8;
  if (shift === 0 && frameBits % 8 === 0) {
    return pixelData.subarray(start, start + length);
  }
  const bits = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    // Bit 0 of a byte is the first pixel (PS3.5 8.1.1): a later bit of the stored byte is a later pixel.
    bits[i] = ((pixelData[start + i] ?? 0) >> shift) | (((pixelData[start + i + 1] ?? 0) << (8 - shift)) & 0xff);
  }
  const tail = frameBits % 8;
  if (tail !== 0) bits[length - 1] = (bits[length - 1] as number) & ((1 << tail) - 1);
  return bits;
}

/**
 * The compressed frames of encapsulated Pixel Data from what dcmjs read: one value per frame when
 * the Basic Offset Table told it where frames start, one per fragment when the table is empty. A
 * frame may span several fragments with an empty table (PS3.5 A.4, as `dcmcjpeg +fs` writes an
 * ultrasound cine): then a fragment that opens a codestream (the JPEG SOI marker FFD8, which JPEG-LS
 * shares, or JPEG 2000's FF4F) starts the next frame, as pydicom reads them. Never more frames than
 * Number of Frames says; fragments that cannot be told apart into that many frames are an error,
 * rather than a fragment served as a frame.
 */
export function framesOfFragments(fragments: readonly Uint8Array[], frameCount: number): Uint8Array[] {
  const opensCodestream = (fragment: Uint8Array) => fragment[0] === 0xff && (fragment[1] === 0xd8 || fragment[1] === 0x4f);
  return fragmentsOfFrames(fragments, frameCount, opensCodestream).map((parts) => (parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts)));
}

/**
 * The rule of `framesOfFragments`, on fragments of any kind (their bytes, or where they are in a
 * file): which fragments make up each frame, in order.
 */
export function fragmentsOfFrames<Fragment>(fragments: readonly Fragment[], frameCount: number, opensCodestream: (fragment: Fragment) => boolean): Fragment[][] {
  if (fragments.length === frameCount) {
    return fragments.map((fragment) => [fragment]);
  }
  if (frameCount === 1) {
    return [[...fragments]];
  }
  const frames: Fragment[][] = [];
  for (const fragment of fragments) {
    if (frames.length === 0 || opensCodestream(fragment)) frames.push([fragment]);
    else frames[frames.length - 1]?.push(fragment);
  }
  if (frames.length !== frameCount) {
    throw new MalformedPixelDataError(`${fragments.length} fragments of encapsulated Pixel Data cannot be told apart into ${frameCount} frames`);
  }
  return frames;
}

export class MalformedPixelDataError extends Error {
  override readonly name = 'MalformedPixelDataError';
}

/** The bytes of a binary attribute at `path` (tags and item indices); undefined when there is none. */
export async function readBulkData(input: Uint8Array | string, path: ReadonlyArray<string | number>): Promise<Uint8Array | undefined> {
  const { dict } = await dictOf(input);
  let current: Record<string, DcmjsElement> | undefined = dict;
  let element: DcmjsElement | undefined;
  for (let i = 0; i < path.length; i++) {
    const step = path[i];
    if (typeof step !== 'string' || !current) return undefined;
    element = current[step.toUpperCase()];
    const next = path[i + 1];
    if (typeof next === 'number') {
      current = element?.Value?.[next] as Record<string, DcmjsElement> | undefined;
      i++;
    } else {
      current = undefined;
    }
  }
  const value = element?.Value;
  if (!value || value.length === 0 || !(value[0] instanceof ArrayBuffer)) {
    return undefined;
  }
  const parts = (value as ArrayBuffer[]).map((part) => new Uint8Array(part));
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}
