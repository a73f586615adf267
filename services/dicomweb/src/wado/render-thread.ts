import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { bytesOf, RequestThread, type BytesReply } from '@imaging-facade/service-kit';
import { renderFrame, RenderError, type RenderOptions } from './render';

/** Renders one frame of a Part 10 file as a consumer image (see renderFrame). */
export type FrameRender = (file: Uint8Array, options: RenderOptions) => Promise<Buffer>;

/**
 * Renders frames on a thread of their own. Decoding and windowing a frame (dcmjs-imaging) is
 * synchronous: on the main thread a 16,000 × 16,000 frame held every request of the service,
 * `/healthz` included, for 20–30 s. Frames are rendered one at a time, in order; the thread starts
 * on first use. The file's bytes are handed over, not copied.
 *
 * The thread runs the compiled render-thread-worker.js. Where this module itself runs from its
 * TypeScript source (under ts-jest), there is no such file, and frames are rendered in this thread.
 */
export class RenderThread {
  private readonly thread = new RequestThread<{ file: Uint8Array; options: RenderOptions }, BytesReply>(
    () => new Worker(path.join(__dirname, 'render-thread-worker.js')),
    'render',
  );

  readonly render: FrameRender = __filename.endsWith('.ts')
    ? renderFrame
    : async (file, options) => {
        const owned = file.byteOffset === 0 && file.byteLength === file.buffer.byteLength ? file : Uint8Array.prototype.slice.call(file);
        const reply = await this.thread.request({ file: owned, options }, [owned.buffer as ArrayBuffer]);
        return bytesOf(reply, 'render', (message) => new RenderError(message));
      };

  close(): Promise<void> {
    return this.thread.close();
  }
}
