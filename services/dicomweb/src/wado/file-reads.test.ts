import { appendFileSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BufferPool, FileChangedError, readWholeFile, sendFileInPieces } from './file-reads';

/**
 * Files read into reused buffers: the bytes are the file's whatever the buffer held before, a
 * buffer given back is the one taken next, and a file that changes while it is sent in pieces is
 * noticed instead of being sent torn.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'file-reads-test-'));
let count = 0;
const file = (bytes: Buffer): string => {
  const where = path.join(dir, `f${++count}.dcm`);
  writeFileSync(where, bytes);
  return where;
};
/** Bytes that differ from place to place, so that a piece out of place would show. */
const pattern = (size: number, seed: number): Buffer => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + seed) % 251));
const MiB = 1024 * 1024;

describe('BufferPool', () => {
  test('hands out buffers in whole MiB, and the one given back is the one taken next', () => {
    const pool = new BufferPool();
    const first = pool.take(530_702);
    expect(first.length).toBe(MiB);
    expect(pool.take(3 * MiB + 1).length).toBe(4 * MiB);
    pool.give(first);
    // Compared as identities: jest would diff a MiB of bytes one by one.
    expect(pool.take(600_000) === first).toBe(true);
    expect(pool.available).toBe(0);
  });

  test('keeps at most as many buffers as asked, the largest ones, and hands out the smallest that fits', () => {
    const pool = new BufferPool(2);
    const [small, medium, large] = [pool.take(1), pool.take(2 * MiB), pool.take(3 * MiB)];
    pool.give(small);
    pool.give(medium);
    pool.give(large);
    expect(pool.available).toBe(2);
    expect(pool.take(1) === medium).toBe(true);
    expect(pool.take(1) === large).toBe(true);
  });
});

describe('readWholeFile', () => {
  test('a smaller file after a larger one, in the same buffer, is exactly its own bytes', async () => {
    const pool = new BufferPool();
    const [larger, smaller] = [pattern(700_000, 1), pattern(39 * 1024, 2)];
    const first = await readWholeFile(file(larger), pool, 4 * MiB);
    expect(first?.bytes.equals(larger)).toBe(true);
    const buffer = first?.bytes.buffer;
    first?.release();
    const second = await readWholeFile(file(smaller), pool, 4 * MiB);
    expect(second?.bytes.buffer === buffer).toBe(true);
    expect(second?.bytes.equals(smaller)).toBe(true);
  });

  test('a file longer than the limit is not read, and takes no buffer', async () => {
    const pool = new BufferPool();
    pool.give(pool.take(1));
    expect(await readWholeFile(file(pattern(2000, 3)), pool, 1999)).toBeUndefined();
    expect(pool.available).toBe(1);
  });

  test('an empty file is empty bytes', async () => {
    const read = await readWholeFile(file(Buffer.alloc(0)), new BufferPool(), 4 * MiB);
    expect(read?.bytes.length).toBe(0);
  });
});

describe('sendFileInPieces', () => {
  /** The pieces sent, copied (the buffer is reused), and the length announced first. */
  async function sent(where: string, chunk: number, during?: (index: number) => void): Promise<{ length: number; pieces: Buffer[]; lasts: boolean[] }> {
    const result = { length: -1, pieces: [] as Buffer[], lasts: [] as boolean[] };
    await sendFileInPieces(where, new BufferPool(), chunk, (length) => (result.length = length), async (piece, last) => {
      expect(result.length).toBeGreaterThanOrEqual(0);
      result.pieces.push(Buffer.from(piece));
      result.lasts.push(last);
      during?.(result.pieces.length - 1);
    });
    return result;
  }

  test('sends the file in pieces of at most the chunk size, byte for byte, the last marked', async () => {
    const bytes = pattern(2.5 * MiB, 4);
    const { length, pieces, lasts } = await sent(file(bytes), MiB);
    expect(length).toBe(bytes.length);
    expect(pieces.map((piece) => piece.length)).toEqual([MiB, MiB, 0.5 * MiB]);
    expect(lasts).toEqual([false, false, true]);
    expect(Buffer.concat(pieces).equals(bytes)).toBe(true);
  });

  test('a file of exactly one piece, and an empty file, are one last piece', async () => {
    const bytes = pattern(MiB, 5);
    expect((await sent(file(bytes), MiB)).lasts).toEqual([true]);
    const empty = await sent(file(Buffer.alloc(0)), MiB);
    expect(empty.length).toBe(0);
    expect(empty.pieces.map((piece) => piece.length)).toEqual([0]);
  });

  test('a file that grows while it is sent throws before its last piece goes out', async () => {
    const where = file(pattern(2 * MiB, 6));
    const sending = sent(where, MiB, (index) => index === 0 && appendFileSync(where, 'more'));
    await expect(sending).rejects.toBeInstanceOf(FileChangedError);
  });

  test('a file cut shorter while it is sent throws', async () => {
    const where = file(pattern(3 * MiB, 7));
    const sending = sent(where, MiB, (index) => index === 0 && truncateSync(where, MiB + 10));
    await expect(sending).rejects.toBeInstanceOf(FileChangedError);
  });

  test('a length refused when announced stops the send before any piece', async () => {
    const pieces: Buffer[] = [];
    const refused = sendFileInPieces(file(pattern(10, 8)), new BufferPool(), MiB, () => {
      throw new FileChangedError('not the listed length');
    }, async (piece) => {
      pieces.push(piece);
    });
    await expect(refused).rejects.toBeInstanceOf(FileChangedError);
    expect(pieces).toEqual([]);
  });
});
