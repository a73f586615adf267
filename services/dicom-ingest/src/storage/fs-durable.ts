import { fstatSync } from 'node:fs';
import { mkdir, open, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Making file system changes survive a crash: a file's data needs its own fsync, and a new or renamed
 * directory entry needs an fsync of the directory holding it.
 */

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a whole file (created or truncated) and fsyncs it; its directory entry is the caller's to make durable. */
export async function writeDurably(file: string, bytes: Buffer): Promise<void> {
  const handle = await open(file, 'w', 0o640);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `mkdir -p`, with every directory it creates made durable in its parent. */
export async function mkdirDurable(dir: string): Promise<void> {
  const firstCreated = await mkdir(dir, { recursive: true });
  if (firstCreated === undefined) {
    return;
  }
  // Every directory from firstCreated down to dir is new: its entry lives in its parent.
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    await fsyncDirectory(path.dirname(current));
    if (current === path.resolve(firstCreated)) {
      return;
    }
  }
}

/**
 * Removes files (one already gone counts as removed) and makes each removal durable in its
 * directory; then removes those directories that are left empty, durably in their parent. A
 * directory that still holds anything, or that something fills meanwhile, stays.
 */
export async function removeDurably(files: readonly string[]): Promise<void> {
  await Promise.all(files.map((file) => unlink(file).catch(unlessCode('ENOENT'))));
  const dirs = [...new Set(files.map((file) => path.dirname(file)))];
  await Promise.all(dirs.map((dir) => fsyncDirectory(dir).catch(unlessCode('ENOENT'))));
  const emptied = await Promise.all(dirs.map((dir) => rmdir(dir).then(() => dir, unlessCode('ENOENT', 'ENOTEMPTY', 'EEXIST'))));
  const parents = new Set(emptied.filter((dir): dir is string => dir !== undefined).map((dir) => path.dirname(dir)));
  await Promise.all([...parents].map((dir) => fsyncDirectory(dir)));
}

/** Whether a file system error has one of these codes (`ENOENT`…). */
export function hasErrorCode(error: unknown, ...codes: string[]): boolean {
  // Duck-typed: errors from another realm (a test runner's sandbox) are not `instanceof Error`.
  return typeof error === 'object' && error !== null && codes.includes(String((error as NodeJS.ErrnoException).code));
}

/** A rejection handler that takes these error codes as nothing to do (undefined) and throws any other error. */
function unlessCode(...codes: string[]): (error: unknown) => undefined {
  return (error: unknown) => {
    if (hasErrorCode(error, ...codes)) {
      return undefined;
    }
    throw error;
  };
}

/**
 * How long a file kept open may sit unused before it is checked to still have its name: a cleaner
 * (or an operator) may have removed it meanwhile, and bytes written into a removed file would be
 * answered with success and lost (reproduced by a review, 2026-12-07). Files in use are never
 * this idle, so the check costs a busy node nothing.
 */
export const IDLE_NAME_CHECK_MS = 10_000;

/** Whether an open file still has a name (a removed one has no link left); a failed check counts as removed. A synchronous fstat of an open file. */
export function stillNamed(fd: number): boolean {
  try {
    return fstatSync(fd).nlink > 0;
  } catch {
    return false;
  }
}
