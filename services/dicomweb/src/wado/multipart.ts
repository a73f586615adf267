import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import type { Response } from 'express';

/**
 * multipart/related answers (RFC 2387, PS3.18 8.7.3.5): each part with its Content-Type and length,
 * written one after the other with backpressure, so that a study of any size streams through a small
 * buffer. Files are sent as they are on disk.
 */

export interface Part {
  contentType: string;
  /** A file to stream, or bytes already in memory. */
  file?: string;
  bytes?: Uint8Array;
  /** Known length of a file part (its size on disk); parts in memory know theirs. */
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

async function write(res: Response, chunk: Uint8Array | string): Promise<void> {
  if (!res.write(chunk)) {
    await once(res, 'drain');
  }
}

/**
 * Streams the parts; the response's status and Content-Type must be set already. A file that cannot
 * be read mid-way aborts the response (the client sees a truncated multipart, never a wrong one).
 */
export async function streamParts(res: Response, boundary: string, parts: AsyncIterable<Part> | Iterable<Part>): Promise<void> {
  for await (const part of parts) {
    const length = part.bytes?.length ?? part.length;
    const headers = [`--${boundary}`, `Content-Type: ${part.contentType}`, ...(length !== undefined ? [`Content-Length: ${length}`] : []), ...(part.location ? [`Content-Location: ${part.location}`] : [])];
    await write(res, `${headers.join('\r\n')}\r\n\r\n`);
    if (part.bytes) {
      await write(res, part.bytes);
    } else if (part.file) {
      for await (const chunk of createReadStream(part.file, { highWaterMark: 256 * 1024 })) {
        await write(res, chunk as Buffer);
      }
    }
    await write(res, '\r\n');
  }
  await write(res, `--${boundary}--\r\n`);
  res.end();
}
