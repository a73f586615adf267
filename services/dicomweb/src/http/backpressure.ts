import type { Response } from 'express';

/**
 * Writing an answer piece by piece with backpressure: the next piece waits until the socket (or the
 * compression stream in front of it) has taken the last one, so that a body of any size goes out
 * through a small buffer. A client that went away ends the wait with an error (the handler stops)
 * instead of a wait for a `drain` that never comes.
 */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}

export async function writeChunk(res: Response, chunk: Uint8Array | string): Promise<void> {
  if (res.destroyed) {
    throw new ClientGoneError('the client closed the connection');
  }
  if (res.write(chunk)) {
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error): void => {
      res.removeListener('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onClose = (): void => settle(new ClientGoneError('the client closed the connection'));
    res.once('drain', () => settle());
    res.once('close', onClose);
  });
}

/**
 * Writes the pieces in order and resolves once the socket has taken the last one (its write
 * callback): then none of their bytes is referred to any more, so a buffer among them may be
 * filled again. Written in the same tick, they leave in one system call (Node corks the socket
 * until the next tick). Waiting for the last piece to be taken is also the backpressure: at most
 * these pieces are queued in the process.
 */
export function writeTaken(res: Response, pieces: ReadonlyArray<Uint8Array | string>): Promise<void> {
  if (res.destroyed) {
    return Promise.reject(new ClientGoneError('the client closed the connection'));
  }
  if (pieces.length === 0) {
    return Promise.resolve();
  }
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (error?: Error | null): void => {
      if (settled) return;
      settled = true;
      res.removeListener('close', onClose);
      if (error) reject(new ClientGoneError(`the client closed the connection (${error.message})`));
      else resolve();
    };
    const onClose = (): void => settle(new Error('closed'));
    res.once('close', onClose);
    const last = pieces.length - 1;
    pieces.forEach((piece, index) => (index === last ? res.write(piece, settle) : res.write(piece)));
  });
}

/**
 * A JSON array whose members are already JSON text, written in pieces of about `pieceChars`
 * characters: the whole body is never one string. The status and Content-Type must be set.
 */
export async function streamJsonArray(res: Response, members: Iterable<string>, pieceChars = 64 * 1024): Promise<void> {
  let piece = '[';
  let first = true;
  for (const member of members) {
    piece += first ? member : `,${member}`;
    first = false;
    if (piece.length >= pieceChars) {
      await writeChunk(res, piece);
      piece = '';
    }
  }
  res.end(`${piece}]`);
}
