import { log as codecsLog, NativeCodecs, Transcoder } from 'dcmjs-codecs';
import { DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, readNaturalizedPart10, silenceDcmjs } from '@imaging-facade/dicom';

/**
 * Transcoding on retrieve (PS3.18 8.7.3.5.2): an instance decompressed to Explicit VR Little Endian
 * for a client that asks for it. dcmjs-codecs decodes with its WebAssembly build of libjpeg-turbo,
 * CharLS, OpenJPEG and its RLE decoder; we do not write codecs ourselves. One instance is in memory
 * at a time: the caller transcodes each file as its turn comes in the stream.
 */

/** What we can produce: the standard's default, uncompressed. */
export const TRANSCODE_TARGETS: ReadonlySet<string> = new Set([EXPLICIT_VR_LITTLE_ENDIAN]);

/**
 * Stored syntaxes dcmjs-codecs 0.0.8 decodes (its transcode map). JPEG Extended (.4.51) and JPEG
 * Lossless non-SV1 (.4.57) are not in it: those stay servable as stored only.
 */
const DECODABLE: ReadonlySet<string> = new Set([
  '1.2.840.10008.1.2', // Implicit VR Little Endian
  EXPLICIT_VR_LITTLE_ENDIAN,
  '1.2.840.10008.1.2.2', // Explicit VR Big Endian
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, // inflated by dcmjs on reading
  '1.2.840.10008.1.2.5', // RLE Lossless
  '1.2.840.10008.1.2.4.50', // JPEG Baseline
  '1.2.840.10008.1.2.4.70', // JPEG Lossless SV1
  '1.2.840.10008.1.2.4.80', // JPEG-LS Lossless
  '1.2.840.10008.1.2.4.81', // JPEG-LS Near-Lossless
  '1.2.840.10008.1.2.4.90', // JPEG 2000 Lossless
  '1.2.840.10008.1.2.4.91', // JPEG 2000
]);

/** Whether an instance stored in `stored` can be given in `wanted`. */
export function canTranscode(stored: string, wanted: string): boolean {
  return stored === wanted || (TRANSCODE_TARGETS.has(wanted) && DECODABLE.has(stored));
}

export class TranscodeError extends Error {
  override readonly name = 'TranscodeError';
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

function transcoded(bytes: Uint8Array, wanted: string): Transcoder {
  const { elements, transferSyntaxUid: syntax } = readNaturalizedPart10(bytes);
  const transcoder = new Transcoder(elements, syntax);
  try {
    transcoder.transcode(wanted);
  } catch (error) {
    throw new TranscodeError(`cannot transcode from ${syntax} to ${wanted}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return transcoder;
}

/** A Part 10 file (new File Meta Information naming `wanted`) of the instance in `bytes`. */
export async function transcodePart10(bytes: Uint8Array, wanted: string): Promise<Uint8Array> {
  await codecs();
  return new Uint8Array(transcoded(bytes, wanted).getDicomPart10());
}

/** The instance's frames, decompressed to native little endian pixel data, cut by frame size. */
export async function transcodeFrames(bytes: Uint8Array, wanted: string): Promise<Uint8Array[]> {
  await codecs();
  const elements = transcoded(bytes, wanted).getElements();
  const first = (value: unknown): number => Number(Array.isArray(value) ? value[0] : value ?? 0);
  const pixelData = elements.PixelData as ArrayBuffer[] | ArrayBuffer | undefined;
  const buffer = Array.isArray(pixelData) ? pixelData[0] : pixelData;
  if (!buffer) throw new TranscodeError('the instance has no Pixel Data');
  const all = new Uint8Array(buffer);
  const frameBytes = Math.ceil((first(elements.Rows) * first(elements.Columns) * Math.max(1, first(elements.SamplesPerPixel)) * first(elements.BitsAllocated)) / 8);
  const count = Math.max(1, first(elements.NumberOfFrames));
  const frames: Uint8Array[] = [];
  for (let frame = 0; frame < count && (frame + 1) * frameBytes <= all.length; frame++) {
    frames.push(all.subarray(frame * frameBytes, (frame + 1) * frameBytes));
  }
  return frames;
}
