import { close, fstat, open, read } from 'node:fs';

/**
 * Reading stored files into buffers that are used again, for answers that send many files one after
 * the other (a study retrieve: hundreds of ~0.5 MB files). A fresh buffer per file made the process
 * collect garbage over its whole heap every few dozen files (in the service, a quarter of a retrieve's
 * CPU time went to the garbage collector); a pool of two or three buffers per answer does not.
 *
 * The callback API of node:fs is used: a FileHandle (node:fs/promises) costs an object and its
 * bookkeeping for each file, for nothing here.
 */

/** Buffers are handed out in whole multiples of this, so that files of similar sizes share them. */
const SIZE_STEP = 1024 * 1024;

/** A few buffers, taken and given back by one answer (never shared between answers). */
export class BufferPool {
  private readonly free: Buffer[] = [];

  /** `kept`: how many given-back buffers are kept for later (beyond that, they are left to the GC). */
  constructor(private readonly kept = 3) {}

  /** A buffer of at least `size` bytes, the smallest there is (its content is whatever was there before). */
  take(size: number): Buffer {
    let index = -1;
    this.free.forEach((buffer, at) => {
      if (buffer.length >= size && (index === -1 || buffer.length < (this.free[index] as Buffer).length)) index = at;
    });
    if (index !== -1) return this.free.splice(index, 1)[0] as Buffer;
    return Buffer.allocUnsafeSlow(Math.max(SIZE_STEP, Math.ceil(size / SIZE_STEP) * SIZE_STEP));
  }

  /** Gives a buffer back once nothing refers to its bytes any more (e.g. the socket has written them). */
  give(buffer: Buffer): void {
    if (this.free.length < this.kept) {
      this.free.push(buffer);
      return;
    }
    // Keep the largest: a larger buffer serves any smaller file.
    const smallest = this.free.reduce((at, each, index) => (each.length < (this.free[at] as Buffer).length ? index : at), 0);
    if ((this.free[smallest] as Buffer).length < buffer.length) this.free[smallest] = buffer;
  }

  /** How many buffers are waiting to be taken again (for tests). */
  get available(): number {
    return this.free.length;
  }
}

/** A file's bytes in a buffer of a pool; `release` gives the buffer back, once its bytes are no longer used. */
export interface HeldBytes {
  bytes: Buffer;
  release: () => void;
}

export const openFile = (file: string): Promise<number> =>
  new Promise((resolve, reject) => open(file, 'r', (error, fd) => (error ? reject(error) : resolve(fd))));

export const fileSize = (fd: number): Promise<number> =>
  new Promise((resolve, reject) => fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats.size))));

export const closeFile = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => close(fd, (error) => (error ? reject(error) : resolve())));

export const readAt = (fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))));

/**
 * The whole file in a buffer of the pool, if it is at most `maxBytes` long when opened; undefined
 * (and no buffer taken) otherwise. Its length is what was read.
 */
export async function readWholeFile(file: string, pool: BufferPool, maxBytes: number): Promise<HeldBytes | undefined> {
  const fd = await openFile(file);
  try {
    const size = await fileSize(fd);
    if (size > maxBytes) return undefined;
    const buffer = pool.take(size);
    let at = 0;
    try {
      while (at < size) {
        const bytesRead = await readAt(fd, buffer, at, size - at, at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
    } catch (error) {
      pool.give(buffer);
      throw error;
    }
    return { bytes: buffer.subarray(0, at), release: () => pool.give(buffer) };
  } finally {
    await closeFile(fd);
  }
}

/** A file that is not `expectedLength` long (replaced, grown or cut since its length was taken). */
export class FileChangedError extends Error {
  override readonly name = 'FileChangedError';
}

/**
 * A file too large to hold, sent in pieces of `chunkBytes` through `send`, each piece in a buffer of
 * the pool that is reused once `send` has resolved (`send` must resolve only when the bytes are no
 * longer referred to). `begin` is called with the file's length (from the open file, so the same
 * file as is read) before the first piece, and may throw. Exactly that many bytes are sent; a file
 * found shorter or longer than its length while it is read throws FileChangedError.
 */
export async function sendFileInPieces(
  file: string,
  pool: BufferPool,
  chunkBytes: number,
  begin: (length: number) => void,
  send: (piece: Buffer, last: boolean) => Promise<void>,
): Promise<void> {
  const fd = await openFile(file);
  try {
    const size = await fileSize(fd);
    begin(size);
    // One byte more than a piece: room to find, after the last piece, that the file has no more.
    const pieceBytes = Math.min(chunkBytes, size);
    const buffer = pool.take(pieceBytes + 1);
    try {
      let at = 0;
      do {
        const bytesRead = await readAt(fd, buffer, 0, Math.min(pieceBytes, size - at), at);
        if (bytesRead === 0 && at < size) throw new FileChangedError(`${file} is shorter than its ${size} bytes`);
        at += bytesRead;
        if (at === size && (await readAt(fd, buffer, bytesRead, 1, at)) !== 0) {
          throw new FileChangedError(`${file} grew beyond its ${size} bytes while it was sent`);
        }
        await send(buffer.subarray(0, bytesRead), at === size);
      } while (at < size);
    } finally {
      pool.give(buffer);
    }
  } finally {
    await closeFile(fd);
  }
}
