import { randomBytes } from 'node:crypto';
import type { Response } from 'express';
import { writeTaken } from '../http/backpressure';
import { BufferPool, FileChangedError, readWholeFile, sendFileInPieces, type HeldBytes } from './file-reads';

/**
 * multipart/related answers (RFC 2387, PS3.18 8.7.3.5): each part with its Content-Type and length,
 * written one after the other with backpressure, so that a study of any size streams through a small
 * buffer. Files are sent as they are on disk.
 */

export interface Part {
  contentType: string;
  /** A file to stream, bytes already in memory, or bytes read piece after piece as the answer goes out (with `length`). */
  file?: string;
  bytes?: Uint8Array;
  pieces?: AsyncIterable<Uint8Array>;
  /**
   * Length of a file part, read from the disk just before; a file found otherwise when it is read
   * aborts the answer. Without it (a file the index says is small), the length is what is read:
   * the file is read whole if it is at most READ_AHEAD_MAX_BYTES when opened, and sent in pieces
   * otherwise. A part in `pieces` must have it: pieces that add up to another length abort the answer.
   */
  length?: number;
  /** Content-Location, for parts a client may want to name. */
  location?: string;
}

export function newBoundary(): string {
  return `facade-${randomBytes(12).toString('hex')}`;
}

export function multipartContentType(partType: string, boundary: string, transferSyntax?: string): string {
  return `multipart/related; type="${partType}"; boundary=${boundary}${transferSyntax ? `; transfer-syntax=${transferSyntax}` : ''}`;
}

/**
 * A file part at most this long is read whole while the part before it is being sent, so that the
 * socket never waits for the disk between two instances (open, read, close of each of a study's
 * files in series halved the throughput of a 600-instance retrieve). Larger files are sent in
 * pieces of FILE_PIECE_BYTES. The buffers are reused from part to part (file-reads.ts): an answer
 * holds at most three, whatever the number of files.
 */
export const READ_AHEAD_MAX_BYTES = 4 * 1024 * 1024;
const FILE_PIECE_BYTES = 1024 * 1024;

interface Upcoming {
  part: Part;
  /** The file's bytes, being read already; undefined once read if the file is too large to hold. */
  readAhead?: Promise<HeldBytes | undefined>;
}

/**
 * Streams the parts; the response's status and Content-Type must be set already. A file that cannot
 * be read mid-way, or whose length is not the part's, aborts the response (the client sees a
 * truncated multipart, never a wrong one).
 */
export async function streamParts(res: Response, boundary: string, parts: AsyncIterable<Part> | Iterable<Part>): Promise<void> {
  const iterator = Symbol.asyncIterator in parts ? parts[Symbol.asyncIterator]() : toAsync(parts[Symbol.iterator]());
  const buffers = new BufferPool();
  const fetchNext = async (): Promise<Upcoming | undefined> => {
    const next = await iterator.next();
    if (next.done === true) return undefined;
    const part = next.value;
    const small = part.file !== undefined && (part.length === undefined || part.length <= READ_AHEAD_MAX_BYTES);
    const readAhead = small && part.file !== undefined ? readWholeFile(part.file, buffers, READ_AHEAD_MAX_BYTES) : undefined;
    // Awaited when its turn comes; this only keeps a failure of a part never reached (the client left) from going unhandled.
    readAhead?.catch(() => undefined);
    return { part, ...(readAhead ? { readAhead } : {}) };
  };
  let upcoming = fetchNext();
  try {
    for (let current = await upcoming; current !== undefined; current = await upcoming) {
      // The next part is looked up (and its file read) while this one goes out.
      upcoming = fetchNext();
      upcoming.catch(() => undefined);
      await writePart(res, boundary, current, buffers);
    }
  } finally {
    await iterator.return?.();
  }
  await writeTaken(res, [`--${boundary}--\r\n`]);
  res.end();
}

/** A part's boundary line and headers, up to its body. */
function partHead(boundary: string, part: Part, length: number | undefined): string {
  const lines = [`--${boundary}`, `Content-Type: ${part.contentType}`];
  if (length !== undefined) lines.push(`Content-Length: ${length}`);
  if (part.location) lines.push(`Content-Location: ${part.location}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** One part: its head, body and line end go out together, and the next part waits until the socket has taken them. */
async function writePart(res: Response, boundary: string, { part, readAhead }: Upcoming, buffers: BufferPool): Promise<void> {
  const read = await readAhead;
  try {
    if (read !== undefined && part.length !== undefined && read.bytes.length !== part.length) {
      // Replaced since its length was read: the part's Content-Length would be wrong.
      throw new FileChangedError('a file changed while it was being sent');
    }
    const body = part.bytes ?? read?.bytes;
    if (body !== undefined) {
      await writeTaken(res, [partHead(boundary, part, body.length), body, '\r\n']);
    } else if (part.pieces !== undefined) {
      await writePieces(res, partHead(boundary, part, part.length), part.pieces, part.length);
    } else if (part.file !== undefined) {
      // Too large to hold: its length from the open file (it must be the part's, if the part has one), then its pieces.
      let head: string | undefined;
      await sendFileInPieces(
        part.file,
        buffers,
        FILE_PIECE_BYTES,
        (length) => {
          if (part.length !== undefined && length !== part.length) throw new FileChangedError('a file changed while it was being sent');
          head = partHead(boundary, part, length);
        },
        async (piece, last) => {
          await writeTaken(res, [...(head !== undefined ? [head] : []), piece, ...(last ? ['\r\n'] : [])]);
          head = undefined;
        },
      );
    } else {
      await writeTaken(res, [partHead(boundary, part, undefined), '\r\n']);
    }
  } finally {
    read?.release();
  }
}

/** A body read piece after piece, each written once the socket has taken the one before; exactly `length` bytes, or the answer is aborted. */
async function writePieces(res: Response, head: string, pieces: AsyncIterable<Uint8Array>, length: number | undefined): Promise<void> {
  let sent = 0;
  let first: string | undefined = head;
  for await (const piece of pieces) {
    sent += piece.length;
    if (length === undefined || sent > length) throw new FileChangedError('a part is longer than its Content-Length');
    await writeTaken(res, [...(first !== undefined ? [first] : []), piece]);
    first = undefined;
  }
  if (sent !== length) throw new FileChangedError('a part is shorter than its Content-Length');
  await writeTaken(res, [...(first !== undefined ? [first] : []), '\r\n']);
}

async function* toAsync<T>(iterator: Iterator<T>): AsyncGenerator<T> {
  for (let next = iterator.next(); next.done !== true; next = iterator.next()) {
    yield next.value;
  }
}
