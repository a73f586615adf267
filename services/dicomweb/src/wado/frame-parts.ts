import { MalformedPixelDataError, NoPixelDataError, type PixelDataIndex } from '@imaging-facade/dicom';
import { notAcceptable, notFound } from '../http/errors';
import type { MultipartChoice } from './accept';
import type { InstanceFrames, InstanceFrameSource } from './instance-frames';
import type { Part } from './multipart';
import { framesPlan, TranscodeError } from './transcode';

/**
 * The frames of an instance's Pixel Data as the parts of a multipart answer (PS3.18 8.7.3.3): one
 * frame a part, `application/octet-stream; transfer-syntax=<its syntax>`, in the client's best
 * choice that the frames can be given in (`framesPlan`: as stored, or decompressed to Explicit VR
 * Little Endian). The one home of this for the two resources that serve frames: `frames/{list}`,
 * and the bulk data of an encapsulated Pixel Data, all its frames (a compressed frame is a
 * bitstream of its own; fragments joined into one part would lose where frames begin). Answers, as
 * DicomwebErrors: 404 for an instance without Pixel Data or a frame it has not, 406 for a syntax
 * the frames cannot be given in or Pixel Data that cannot be cut into frames.
 *
 * An instance read by range (./instance-frames) gives its first frame before the answer begins, so
 * that what fails for every frame is still answered with its status, and the others one after the
 * other as the answer goes out: the answer holds a frame or two, not all of them.
 */
export async function frameParts(instances: InstanceFrames, file: string, sopUid: string, choices: readonly MultipartChoice[], numbers?: readonly number[]): Promise<Part[] | AsyncIterable<Part>> {
  const pixels = await openFrames(instances, file, sopUid);
  // The client's best choice these frames can be given in (a later range is a fallback, as for instances).
  const plan = choices.map((choice) => framesPlan(pixels.transferSyntaxUid, pixels.encapsulated, choice.transferSyntax)).find((candidate) => candidate !== undefined);
  if (!plan) {
    const asked = choices[0]?.transferSyntax ?? '';
    throw notAcceptable(`frames stored in ${pixels.transferSyntaxUid} are served as stored or decompressed to 1.2.840.10008.1.2.1, not in ${asked}; ask for transfer-syntax=* to get them as stored`);
  }
  const wanted = numbers ?? Array.from({ length: pixels.frameCount }, (_, index) => index + 1);
  // Before reading or decoding anything: a frame the instance has not is a 404, whatever the syntax.
  const missing = wanted.find((number) => number > pixels.frameCount);
  if (missing !== undefined) throw notFound(`Frame ${missing} of ${sopUid}`);
  const read = async (batch: readonly number[]): Promise<Part[]> => {
    try {
      const frames = plan.kind === 'transcoded' ? await pixels.transcoded(batch, plan.syntax) : await pixels.stored(batch);
      return frames.map((bytes) => ({ contentType: `application/octet-stream; transfer-syntax=${plan.syntax}`, bytes }));
    } catch (error) {
      if (error instanceof TranscodeError || error instanceof MalformedPixelDataError) throw notAcceptable(`frames of ${sopUid}: ${error.message}`);
      throw error;
    }
  };
  if (pixels.inMemory || wanted.length <= 1) {
    return read(wanted);
  }
  const first = await read(wanted.slice(0, 1));
  return (async function* () {
    yield* first;
    for (const number of wanted.slice(1)) yield* await read([number]);
  })();
}

/** The instance's frames, its errors as answers (`pixelDataAnswer`). */
export function openFrames(instances: InstanceFrames, file: string, sopUid: string): Promise<InstanceFrameSource> {
  return instances.open(file).catch((error: unknown) => pixelDataAnswer(error, sopUid));
}

/** Where the instance's frames are (undefined when deflated), its errors as answers (`pixelDataAnswer`). */
export function indexedPixelData(instances: InstanceFrames, file: string, sopUid: string): Promise<PixelDataIndex | undefined> {
  return instances.index(file).catch((error: unknown) => pixelDataAnswer(error, sopUid));
}

/** No Pixel Data is a 404, Pixel Data that cannot be cut into frames a 406; anything else stays what it is. */
function pixelDataAnswer(error: unknown, sopUid: string): never {
  if (error instanceof NoPixelDataError) throw notFound(`Pixel data of ${sopUid}`);
  if (error instanceof MalformedPixelDataError) throw notAcceptable(`frames of ${sopUid}: ${error.message}; the instance itself can be retrieved`);
  throw error;
}
