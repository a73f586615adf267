import { readFile, stat } from 'node:fs/promises';
import { indexPixelData, readFrames, readPixelFrames, singleFramePart10, type PixelDataIndex, type PixelFrames } from '@imaging-facade/dicom';
import { FrameCache } from './frame-cache';
import { RenderError } from './render';
import { transcodeFrames, TranscodeError } from './transcode';

/**
 * Where the frames a request asks for are read from: for `frames`, their renderings and Pixel Data's
 * bulk data. An instance of at most `wholeMaxBytes` (16 MiB, an eighth of the frame cache if that is
 * less) is read whole once, and its frames, as stored or decoded, are kept in the frame cache for the
 * next requests. A larger one is never read whole: the cache keeps its index (where each frame is,
 * libs/dicom `indexPixelData`: a few numbers a frame), and each request reads, and decodes when
 * asked, its own frames only — a frame of a 1 GB breast tomosynthesis or of a long cine costs that
 * frame (until 2026-12-07 such an instance was read whole for every frame asked). A deflated
 * instance cannot be read by range (one deflate stream): it is read whole, as before.
 */

/** The largest instance read whole for its frames, whose frames are kept. */
export const WHOLE_INSTANCE_MAX_BYTES = 16 * 1024 * 1024;

/** What an index is counted in the cache before it is read. */
const INDEX_EXPECTED_BYTES = 64 * 1024;

/** An instance read whole: its frames as stored, and its index unless it is deflated. */
type WholeInstance = PixelFrames & { index: PixelDataIndex | undefined };

type Held = WholeInstance | PixelFrames | PixelDataIndex | undefined;

/** The frames of one instance, for one request. */
export interface InstanceFrameSource {
  transferSyntaxUid: string;
  encapsulated: boolean;
  frameCount: number;
  /** Where the frames are, when the instance is not deflated. */
  index: PixelDataIndex | undefined;
  /** Whether its frames are in memory (read whole), rather than read from the file for each request. */
  inMemory: boolean;
  /** Frames numbered `numbers` (from 1) as stored: encapsulated, their compressed bitstreams; native, big endian as stored. */
  stored(numbers: readonly number[]): Promise<Uint8Array[]>;
  /** The same frames in `syntax` (native little endian: swapped or decoded). */
  transcoded(numbers: readonly number[], syntax: string): Promise<Uint8Array[]>;
  /** A Part 10 file to render frame `number` (from 1) of, and that frame's index (from 0) in it. */
  renderable(number: number): Promise<{ bytes: Uint8Array; frame: number }>;
}

export class InstanceFrames {
  private readonly cache: FrameCache<Held>;
  readonly wholeMaxBytes: number;

  /** `cacheBytes`: DICOMWEB_FRAME_CACHE_BYTES, what the cache may hold; 0 keeps nothing. */
  constructor(cacheBytes: number) {
    this.cache = new FrameCache<Held>(cacheBytes, sizeOfHeld);
    // Several instances read whole fit in the cache at once.
    this.wholeMaxBytes = Math.min(WHOLE_INSTANCE_MAX_BYTES, Math.floor(cacheBytes / 8));
  }

  /**
   * The frames of the instance in `file`. NoPixelDataError without Pixel Data;
   * MalformedPixelDataError when it cannot be cut into frames.
   */
  async open(file: string): Promise<InstanceFrameSource> {
    const { size } = await stat(file);
    if (size > this.wholeMaxBytes) {
      const index = await this.index(file);
      if (index !== undefined) return this.byRange(index);
    }
    return this.whole(file);
  }

  /** Where the frames of `file` are (kept for the next requests); undefined for a deflated dataset. */
  index(file: string): Promise<PixelDataIndex | undefined> {
    return this.cache.get(file, 'index', () => indexPixelData(file), INDEX_EXPECTED_BYTES);
  }

  private byRange(index: PixelDataIndex): InstanceFrameSource {
    const from0 = (numbers: readonly number[]) => numbers.map((number) => number - 1);
    return {
      transferSyntaxUid: index.transferSyntaxUid,
      encapsulated: index.encapsulated,
      frameCount: index.frameCount,
      index,
      inMemory: false,
      stored: (numbers) => readFrames(index, from0(numbers)),
      transcoded: (numbers, syntax) => transcodeFrames(index, from0(numbers), syntax),
      renderable: async (number) => {
        if (number > index.frameCount) throw new RenderError(`the instance has no frame ${number}`);
        return { bytes: await singleFramePart10(index, number - 1), frame: 0 };
      },
    };
  }

  private async whole(file: string): Promise<InstanceFrameSource> {
    const instance = await this.cache.get(file, 'stored', () => readWhole(file));
    const { index, frames } = instance;
    const pick = (all: readonly Uint8Array[], numbers: readonly number[]) => numbers.map((number) => all[number - 1] as Uint8Array);
    return {
      transferSyntaxUid: instance.transferSyntaxUid,
      encapsulated: instance.encapsulated,
      frameCount: frames.length,
      index,
      inMemory: true,
      stored: async (numbers) => pick(frames, numbers),
      transcoded: async (numbers, syntax) => {
        if (index === undefined) throw new TranscodeError(`frames stored in ${instance.transferSyntaxUid} are not decoded`);
        const all = Array.from({ length: frames.length }, (_, frame) => frame);
        const decoded = await this.cache.get(file, syntax, async (): Promise<PixelFrames> => ({ transferSyntaxUid: syntax, encapsulated: false, frames: await transcodeFrames(index, all, syntax) }));
        return pick(decoded.frames, numbers);
      },
      // The whole file, as stored: the renderer takes the frame it is asked.
      renderable: async (number) => ({ bytes: await readFile(file), frame: number - 1 }),
    };
  }
}

/** Every frame of a file read at once: by range unless it is deflated, which is read and inflated whole (dcmjs). */
async function readWhole(file: string): Promise<WholeInstance> {
  const index = await indexPixelData(file);
  if (index === undefined) {
    return { ...(await readPixelFrames(file)), index };
  }
  const frames = await readFrames(index, Array.from({ length: index.frameCount }, (_, frame) => frame));
  return { transferSyntaxUid: index.transferSyntaxUid, encapsulated: index.encapsulated, frames, index };
}

/** Bytes an entry holds: its frames, or an index's few numbers a frame. */
function sizeOfHeld(held: Held): number {
  if (held === undefined) return 0;
  if ('frames' in held) return held.frames.reduce((sum, frame) => sum + frame.byteLength, 0);
  return 1024 + 64 * (held.layout.kind === 'encapsulated' ? held.layout.frames.length : 1);
}
