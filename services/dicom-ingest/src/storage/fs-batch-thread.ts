import { Worker } from 'node:worker_threads';
import { RequestThread } from '@imaging-facade/service-kit';

/**
 * The thread's code (plain JavaScript, run with `eval`: the same under ts-jest and from dist). Each
 * message is a batch, done with synchronous calls one after another, and answered with one message.
 * Opened files are handed over as descriptors; the main thread owns and closes them.
 */
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const failure = (error) => ({ code: error.code, message: error.message });
parentPort.on('message', (request) => {
  if (request.op === 'create') {
    const fds = [];
    try {
      for (const file of request.paths) fds.push(fs.openSync(file, request.flags, request.mode));
      const dir = fs.openSync(request.dir, 'r');
      try { fs.fsyncSync(dir); } finally { fs.closeSync(dir); }
      parentPort.postMessage({ id: request.id, fds });
    } catch (error) {
      for (const fd of fds) { try { fs.closeSync(fd); } catch {} }
      parentPort.postMessage({ id: request.id, error: failure(error) });
    }
  } else if (request.op === 'rename') {
    const errors = request.pairs.map(([from, to]) => {
      try { fs.renameSync(from, to); return null; } catch (error) { return failure(error); }
    });
    parentPort.postMessage({ id: request.id, errors });
  }
});
`;

interface Failure {
  code?: string;
  message: string;
}

type Reply = { id: number; fds?: number[]; errors?: Array<Failure | null>; error?: Failure };

function toError(failure: Failure): NodeJS.ErrnoException {
  return Object.assign(new Error(failure.message), failure.code === undefined ? {} : { code: failure.code });
}

/**
 * One thread for the spool's file system calls that come in batches: creating the files made ahead
 * (and fsyncing their directory), and renaming received files to their places. Each batch is one
 * hand-over and one answer, instead of one trip to libuv's thread pool per call: each such trip cost
 * 30–50 µs of CPU beyond the system call here (a thread woken, then the main thread woken), more than
 * the call itself. Calls in a batch run one after another, as they did before (concurrent creates in
 * one directory queue on its lock). The thread is started on first use and ends with `close`.
 */
export class FsBatchThread {
  // Its descriptors are handed to the main thread and must outlive it: it does not track them.
  private readonly thread = new RequestThread<Record<string, unknown>, Reply>(
    () =>
      new Worker(THREAD_SOURCE, {
        eval: true,
        trackUnmanagedFds: false,
        resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
      }),
    'file system',
  );

  /** Creates each file (flags as given, e.g. O_CREAT | O_EXCL | O_DSYNC), then fsyncs `dir`: their descriptors, in order. All or none: on a failure the ones opened are closed. */
  async createFiles(dir: string, paths: string[], flags: number, mode: number): Promise<number[]> {
    const reply = await this.thread.request({ op: 'create', dir, paths, flags, mode });
    if (reply.error !== undefined) {
      throw toError(reply.error);
    }
    return reply.fds ?? [];
  }

  /** Renames each pair in order; per pair, undefined or the error that rename raised. */
  async renameAll(pairs: Array<[from: string, to: string]>): Promise<Array<NodeJS.ErrnoException | undefined>> {
    const reply = await this.thread.request({ op: 'rename', pairs });
    return (reply.errors ?? []).map((failure) => (failure === null ? undefined : toError(failure)));
  }

  /** Ends the thread once the batches under way are answered. A later call starts a new one. */
  close(): Promise<void> {
    return this.thread.close();
  }
}
