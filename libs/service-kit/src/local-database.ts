import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export interface LocalDatabaseOptions {
  /** What the file holds, for the error when it cannot be opened ("the study catalogue"). */
  what: string;
  /** `NORMAL` where a crash may lose the last transactions, `FULL` where each must survive one. */
  synchronous: 'NORMAL' | 'FULL';
}

/**
 * A service's own SQLite file (WAL), for one process at a time: a second opener fails at once,
 * saying so. `file` ':memory:' keeps nothing across starts.
 */
export function openLocalDatabase(file: string, options: LocalDatabaseOptions): Database.Database {
  if (file !== ':memory:') {
    // Patient data: not readable by other users (as the DICOM store's files).
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
  }
  const db = new Database(file, { timeout: 1_000 });
  try {
    // Set before the first access, so that WAL needs no shared memory and no other process can open the file.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous}`);
  } catch (error) {
    db.close();
    throw new Error(`${options.what} ${file} cannot be opened (${(error as Error).message}): is another process using it?`);
  }
  return db;
}
