import { mkdir, open } from 'node:fs/promises';
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
