import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { bytesOf, RequestThread, type BytesReply } from '@imaging-facade/service-kit';
import { ManifestBuildError, writeKos, type ManifestContent } from './kos-writer';

/** Writes a study's manifest: its Part 10 bytes, or a ManifestBuildError (see writeKos). */
export type ManifestWrite = (content: ManifestContent) => Promise<Buffer>;

/** Writes manifests in the calling thread (tests, tools). */
export const writeKosHere: ManifestWrite = async (content) => writeKos(content);

/**
 * Writes manifests on a thread of their own. dcmjs's writer costs ~60 µs of CPU per referenced
 * instance (~30 ms for 500, over a second for 20,000). On the main thread, that held up every
 * association's C-STORE answers meanwhile, and in a burst each study's completion waited for the
 * others' manifests. Manifests are written one at a time, in order; the thread starts on first use
 * and lives as long as the service. Ended after 1 s idle, it left the service's memory as high
 * (measured over 14 studies: ~20 MB above the main thread alone either way), and each study paid
 * ~0.12 s to start a new one.
 *
 * The thread runs the compiled kos-thread-worker.js. Where this module itself runs from its
 * TypeScript source (under ts-jest), there is no such file, and `write` runs in this thread.
 */
export class ManifestThread {
  // A small young generation: with V8's default, the thread held ~30 MB more after a few manifests.
  private readonly thread = new RequestThread<{ content: ManifestContent }, BytesReply>(
    () => new Worker(path.join(__dirname, 'kos-thread-worker.js'), { resourceLimits: { maxYoungGenerationSizeMb: 4 } }),
    'manifest',
  );

  readonly write: ManifestWrite = __filename.endsWith('.ts')
    ? writeKosHere
    : async (content) => {
        // Never an empty manifest in place of a missing answer (bytesOf): the study's publication is retried.
        return bytesOf(await this.thread.request({ content }), 'manifest', (message) => new ManifestBuildError(message));
      };

  close(): Promise<void> {
    return this.thread.close();
  }
}
