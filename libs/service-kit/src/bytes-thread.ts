import { parentPort } from 'node:worker_threads';

/**
 * The answer of a thread whose work makes bytes (a rendered frame, a manifest): the bytes, or why
 * not. `expected`: the work's own refusal (a frame that cannot be rendered, a manifest that cannot
 * be built), which the caller answers as such, rather than a fault of the thread.
 */
export type BytesReply = { id: number; bytes?: Uint8Array; error?: { message: string; expected: boolean } };

/**
 * In the worker thread: answers each request `{ id, …request }` with `work`'s bytes, or with its
 * error; `expectedMessage` gives the message of an expected error (undefined for any other).
 */
export function answerWithBytes<Request>(work: (request: Request) => Uint8Array | Promise<Uint8Array>, expectedMessage: (error: unknown) => string | undefined): void {
  parentPort?.on('message', ({ id, ...request }: Request & { id: number }) => {
    const refused = (error: unknown): void => {
      const expected = expectedMessage(error);
      const message = expected ?? (error instanceof Error ? error.message : String(error));
      parentPort?.postMessage({ id, error: { message, expected: expected !== undefined } } satisfies BytesReply);
    };
    try {
      Promise.resolve(work(request as Request)).then((bytes) => parentPort?.postMessage({ id, bytes } satisfies BytesReply), refused);
    } catch (error) {
      refused(error);
    }
  });
}

/**
 * In the calling thread: the reply's bytes as a Buffer (not copied); its error thrown, an expected
 * one as `expected` makes it. Never empty bytes in place of a missing answer.
 */
export function bytesOf(reply: BytesReply, threadName: string, expected: (message: string) => Error): Buffer {
  if (reply.error !== undefined) {
    throw reply.error.expected ? expected(reply.error.message) : new Error(reply.error.message);
  }
  if (reply.bytes === undefined) {
    throw new Error(`the ${threadName} thread answered without its bytes`);
  }
  return Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength);
}
