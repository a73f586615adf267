import { log as codecsLog, NativeCodecs, Transcoder } from 'dcmjs-codecs';
import {
  checkNativeLength,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  framesOfFragments,
  IMPLICIT_VR_LITTLE_ENDIAN,
  MalformedDatasetError,
  MalformedPixelDataError,
  nativeFrame,
  nativeFrameBits,
  part10TransferSyntax,
  readFrames,
  readNaturalizedPart10,
  silenceDcmjs,
  tagOf,
  toExplicitVrLittleEndian,
  TruncatedDatasetError,
  type PixelDataIndex,
  type Replacement,
} from '@imaging-facade/dicom';

/**
 * Transcoding on retrieve (PS3.18 8.7.3.5.2): an instance given in Explicit VR Little Endian to a
 * client that asks for it, changed only where the transfer syntax requires, element by element
 * (`toExplicitVrLittleEndian` of @imaging-facade/dicom). A compressed instance's Pixel Data is
 * decoded by dcmjs-codecs (WebAssembly builds of libjpeg-turbo, CharLS, OpenJPEG, an RLE decoder);
 * we do not write codecs ourselves, and nothing else of the dataset goes through them. One instance
 * is in memory at a time: the caller transcodes each file as its turn comes in the stream.
 */

/** What we can produce: the standard's default, uncompressed. */
export const TRANSCODE_TARGETS: ReadonlySet<string> = new Set([EXPLICIT_VR_LITTLE_ENDIAN]);

/** Uncompressed syntaxes: rewritten element by element, whatever the pixels (32 bits allocated too). */
const NATIVE: ReadonlySet<string> = new Set([
  IMPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
]);

/**
 * Compressed syntaxes dcmjs-codecs 0.0.8 decodes (its transcode map). JPEG Extended (.4.51) and JPEG
 * Lossless non-SV1 (.4.57) are not in it: those stay servable as stored only.
 */
const DECODABLE: ReadonlySet<string> = new Set([
  '1.2.840.10008.1.2.5', // RLE Lossless
  '1.2.840.10008.1.2.4.50', // JPEG Baseline
  '1.2.840.10008.1.2.4.70', // JPEG Lossless SV1
  '1.2.840.10008.1.2.4.80', // JPEG-LS Lossless
  '1.2.840.10008.1.2.4.81', // JPEG-LS Near-Lossless
  '1.2.840.10008.1.2.4.90', // JPEG 2000 Lossless
  '1.2.840.10008.1.2.4.91', // JPEG 2000
]);

/**
 * Whether an instance stored in `stored` can be given in `wanted`. dcmjs-codecs decodes 8 and 16
 * bits allocated only: a 32-bit compressed instance (RLE) is said not to be, up front, rather than
 * failing in the middle of a study's stream. Unknown bits are taken as decodable.
 */
export function canTranscode(stored: string, wanted: string, bitsAllocated?: number | null): boolean {
  if (stored === wanted) return true;
  if (!TRANSCODE_TARGETS.has(wanted)) return false;
  return NATIVE.has(stored) || (DECODABLE.has(stored) && (bitsAllocated === null || bitsAllocated === undefined || bitsAllocated === 8 || bitsAllocated === 16));
}

export class TranscodeError extends Error {
  override readonly name = 'TranscodeError';
}

/** A Part 10 file (new File Meta Information naming `wanted`) of the instance in `bytes`. */
export async function transcodePart10(bytes: Uint8Array, wanted: string): Promise<Uint8Array> {
  if (!TRANSCODE_TARGETS.has(wanted)) {
    throw new TranscodeError(`cannot transcode to ${wanted}`);
  }
  try {
    const stored = part10TransferSyntax(bytes);
    if (NATIVE.has(stored)) {
      return toExplicitVrLittleEndian(bytes);
    }
    if (!DECODABLE.has(stored)) {
      throw new TranscodeError(`cannot decode ${stored}`);
    }
    return toExplicitVrLittleEndian(bytes, await decodedPixels(bytes, stored));
  } catch (error) {
    if (error instanceof MalformedDatasetError || error instanceof TruncatedDatasetError) {
      throw new TranscodeError(`cannot transcode to ${wanted}: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Frames `frames` (from 0) of an indexed instance in `wanted` (native little endian pixel data), each
 * read alone from the file (libs/dicom `readFrames`): a big endian frame swapped, a compressed one
 * decoded alone. A frame of a 1 GB instance costs that frame, read and decoded; the decoder gives each
 * frame what decoding the whole instance gives it (checked on pydicom's samples).
 */
export async function transcodeFrames(index: PixelDataIndex, frames: readonly number[], wanted: string): Promise<Uint8Array[]> {
  const stored = index.transferSyntaxUid;
  if (!canTranscode(stored, wanted, index.image.bitsAllocated)) {
    throw new TranscodeError(`cannot decode ${stored}${index.encapsulated ? ` of ${index.image.bitsAllocated} bits allocated` : ''} to ${wanted}`);
  }
  if (!index.encapsulated) {
    return readFrames(index, frames, { littleEndian: true });
  }
  await codecs();
  const { image } = index;
  const input: Record<string, unknown> = {
    Rows: image.rows,
    Columns: image.columns,
    SamplesPerPixel: image.samplesPerPixel,
    BitsAllocated: image.bitsAllocated,
    BitsStored: image.bitsStored,
    HighBit: image.highBit,
    PixelRepresentation: image.pixelRepresentation,
    PhotometricInterpretation: image.photometricInterpretation,
    PlanarConfiguration: image.planarConfiguration,
  };
  for (const [keyword, value] of Object.entries(input)) if (value === undefined) delete input[keyword];
  const decoded: Uint8Array[] = [];
  for (const frame of await readFrames(index, frames)) {
    const elements = decode({ ...input, NumberOfFrames: 1, PixelData: [frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength)] }, stored);
    const pixels = decodedBuffer(elements);
    const frameBits = nativeFrameBits({
      rows: Number(elements.Rows),
      columns: Number(elements.Columns),
      samplesPerPixel: Number(elements.SamplesPerPixel ?? 1),
      bitsAllocated: Number(elements.BitsAllocated),
      photometricInterpretation: String(elements.PhotometricInterpretation ?? ''),
    });
    checkNativeLength(pixels.length, 1, frameBits);
    decoded.push(nativeFrame(pixels, 0, frameBits));
  }
  return decoded;
}

/** What dcmjs-codecs decodes `input` (naturalized Image Pixel attributes and Pixel Data, frame by frame) to, in Explicit VR Little Endian. */
function decode(input: Record<string, unknown>, stored: string): Record<string, unknown> {
  // The transcoder writes its results into the object it is given: `input` keeps the stored values.
  const transcoder = new Transcoder({ ...input }, stored);
  try {
    transcoder.transcode(EXPLICIT_VR_LITTLE_ENDIAN);
  } catch (error) {
    throw new TranscodeError(`cannot decode ${stored}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return transcoder.getElements();
}

/** The decoded Pixel Data, all frames one after the other. */
function decodedBuffer(decoded: Record<string, unknown>): Uint8Array {
  const pixelData = decoded.PixelData as ArrayBuffer[] | ArrayBuffer | undefined;
  const buffer = Array.isArray(pixelData) ? pixelData[0] : pixelData;
  if (!buffer) {
    throw new TranscodeError('the instance has no Pixel Data');
  }
  return new Uint8Array(buffer);
}

let codecsReady: Promise<void> | undefined;

/** Loads the WebAssembly codecs once, on first use. */
function codecs(): Promise<void> {
  codecsReady ??= (async () => {
    // Both log through loglevel, and a warning may quote a value, i.e. patient data.
    codecsLog.setLevel('silent');
    silenceDcmjs();
    await NativeCodecs.initializeAsync({ logCodecsInfo: false, logCodecsTrace: false });
  })();
  return codecsReady;
}

/** What dcmjs-codecs reads to decode: the Image Pixel attributes and the Pixel Data. */
const DECODER_INPUT = [
  'Rows',
  'Columns',
  'SamplesPerPixel',
  'BitsAllocated',
  'BitsStored',
  'HighBit',
  'PixelRepresentation',
  'PhotometricInterpretation',
  'PlanarConfiguration',
  'NumberOfFrames',
  'PixelData',
] as const;

/** What a decoder may change, e.g. a colour JPEG given as RGB: these replace the stored values. */
const DECODER_CHANGES = ['PhotometricInterpretation', 'PlanarConfiguration', 'SamplesPerPixel', 'BitsAllocated', 'BitsStored', 'HighBit', 'PixelRepresentation'] as const;

/** The decoded Pixel Data, and the Image Pixel attributes the decoding changed, by tag. */
async function decodedPixels(bytes: Uint8Array, stored: string): Promise<Map<string, Replacement>> {
  await codecs();
  const { elements } = readNaturalizedPart10(bytes);
  const input: Record<string, unknown> = Object.fromEntries(DECODER_INPUT.filter((keyword) => elements[keyword] !== undefined).map((keyword) => [keyword, elements[keyword]]));
  // dcmjs gives one value per fragment when the offset table is empty: the decoder needs frames.
  const fragments = Array.isArray(elements.PixelData) ? (elements.PixelData as ArrayBuffer[]).map((fragment) => new Uint8Array(fragment)) : [];
  if (fragments.length > 0) {
    try {
      const frames = framesOfFragments(fragments, Math.max(1, Number(elements.NumberOfFrames ?? 1)));
      input.PixelData = frames.map((frame) => frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength));
    } catch (error) {
      if (error instanceof MalformedPixelDataError) throw new TranscodeError(error.message);
      throw error;
    }
  }
  const decoded = decode(input, stored);
  const replacements = new Map<string, Replacement>([
    [tagOf('PixelData'), { vr: Number(decoded.BitsAllocated) > 8 ? 'OW' : 'OB', value: decodedBuffer(decoded) }],
  ]);
  for (const keyword of DECODER_CHANGES) {
    const value = decoded[keyword];
    // Planar Configuration means nothing for one sample per pixel: the decoder sets it regardless.
    const meaningless = keyword === 'PlanarConfiguration' && Number(decoded.SamplesPerPixel) <= 1;
    if (value !== undefined && value !== input[keyword] && !meaningless) {
      replacements.set(tagOf(keyword), typeof value === 'string' ? { vr: 'CS', value } : { vr: 'US', value: Number(value) });
    }
  }
  return replacements;
}

/** How an instance's frames are served for an asked transfer syntax; undefined when they cannot be. */
export type FramesPlan = { kind: 'as-stored' | 'transcoded'; syntax: string } | undefined;

/**
 * Native pixel data is served little endian (PS3.18 8.7.3.3.1): a big endian instance's frames are
 * converted, `*` included, unless big endian is asked by name. A little endian native instance's
 * frames are the same bytes in any little endian native syntax; compressed ones as stored or decoded.
 */
export function framesPlan(stored: string, encapsulated: boolean, asked: string): FramesPlan {
  const bigEndian = stored === EXPLICIT_VR_BIG_ENDIAN;
  const littleNative = asked === IMPLICIT_VR_LITTLE_ENDIAN || asked === EXPLICIT_VR_LITTLE_ENDIAN;
  if (asked === stored || (!bigEndian && (asked === '*' || (!encapsulated && littleNative)))) {
    return { kind: 'as-stored', syntax: encapsulated || bigEndian ? stored : EXPLICIT_VR_LITTLE_ENDIAN };
  }
  const target = asked === '*' ? EXPLICIT_VR_LITTLE_ENDIAN : asked;
  return canTranscode(stored, target) ? { kind: 'transcoded', syntax: target } : undefined;
}
