import { readFile } from 'node:fs/promises';
import { MalformedPixelDataError, NoPixelDataError, readPixelFrames, type PixelFrames } from '@imaging-facade/dicom';
import { notAcceptable, notFound } from '../http/errors';
import type { MultipartChoice } from './accept';
import { FrameCache } from './frame-cache';
import type { Part } from './multipart';
import { framesPlan, transcodeFrames, TranscodeError } from './transcode';

/**
 * The frames of an instance's Pixel Data as the parts of a multipart answer (PS3.18 8.7.3.3): one
 * frame a part, `application/octet-stream; transfer-syntax=<its syntax>`, in the client's best
 * choice that the frames can be given in (`framesPlan`: as stored, or decompressed to Explicit VR
 * Little Endian). The one home of this for the two resources that serve frames: `frames/{list}`,
 * and the bulk data of an encapsulated Pixel Data, all its frames (a compressed frame is a
 * bitstream of its own; fragments joined into one part would lose where frames begin). Answers, as
 * DicomwebErrors: 404 for an instance without Pixel Data or a frame it has not, 406 for a syntax
 * the frames cannot be given in or Pixel Data that cannot be cut into frames.
 */
export async function frameParts(cache: FrameCache<PixelFrames>, file: string, sopUid: string, choices: readonly MultipartChoice[], numbers?: readonly number[]): Promise<Part[]> {
  const pixels = await cache.get(file, 'stored', () => readFrames(file, sopUid));
  // The client's best choice these frames can be given in (a later range is a fallback, as for instances).
  const plan = choices.map((choice) => framesPlan(pixels.transferSyntaxUid, pixels.encapsulated, choice.transferSyntax)).find((candidate) => candidate !== undefined);
  if (!plan) {
    const asked = choices[0]?.transferSyntax ?? '';
    throw notAcceptable(`frames stored in ${pixels.transferSyntaxUid} are served as stored or decompressed to 1.2.840.10008.1.2.1, not in ${asked}; ask for transfer-syntax=* to get them as stored`);
  }
  const wanted = numbers ?? pixels.frames.map((_, index) => index + 1);
  // Before decoding anything: a frame the instance has not is a 404, whatever the syntax.
  const missing = wanted.find((number) => number > pixels.frames.length);
  if (missing !== undefined) throw notFound(`Frame ${missing} of ${sopUid}`);
  let frames = pixels.frames;
  if (plan.kind === 'transcoded') {
    const decoded = async (): Promise<PixelFrames> => {
      try {
        return { transferSyntaxUid: plan.syntax, encapsulated: false, frames: await transcodeFrames(await readFile(file), plan.syntax) };
      } catch (error) {
        if (error instanceof TranscodeError || error instanceof MalformedPixelDataError) throw notAcceptable(`frames of ${sopUid}: ${error.message}`);
        throw error;
      }
    };
    frames = (await cache.get(file, plan.syntax, decoded)).frames;
  }
  return wanted.map((number) => ({ contentType: `application/octet-stream; transfer-syntax=${plan.syntax}`, bytes: frames[number - 1] as Uint8Array }));
}

async function readFrames(file: string, sopUid: string): Promise<PixelFrames> {
  try {
    return await readPixelFrames(file);
  } catch (error) {
    if (error instanceof NoPixelDataError) throw notFound(`Pixel data of ${sopUid}`);
    if (error instanceof MalformedPixelDataError) throw notAcceptable(`frames of ${sopUid}: ${error.message}; the instance itself can be retrieved`);
    throw error;
  }
}

/** A cache of frames as this module reads them: as stored, or decoded (`frameCacheBytes` of the deps). */
export function frameCache(maxBytes: number): FrameCache<PixelFrames> {
  return new FrameCache<PixelFrames>(maxBytes, (pixels) => pixels.frames.reduce((sum, frame) => sum + frame.byteLength, 0));
}
