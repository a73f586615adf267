import type Database from 'better-sqlite3';
import { openLocalDatabase } from '@imaging-facade/service-kit';
import type { SavedReadPosition } from './read-position';

export interface TopicStateTables {
  /** What the file holds, for errors ("the study catalogue"). */
  what: string;
  /** Bumped when the tables change: a file of another version is read again from the topic. */
  version: number;
  /** The state's tables (CREATE … IF NOT EXISTS). */
  schema: string;
  /** Their names: dropped when the file is of another version or topic, emptied by `reset`. */
  tables: string[];
}

/**
 * A view's state on disk (SQLite, one file, WAL) with how far it has read its compacted topic, so
 * that a restart reads only what came since. Derived data: deleting the file makes the next start
 * read the topic again from the beginning. One process per file: the file is locked while open.
 */
export abstract class TopicStateDb implements SavedReadPosition {
  protected readonly db: Database.Database;
  private readonly tables: string[];
  private readonly savePosition: Database.Statement<[number, string]>;

  /** `file` ':memory:' keeps nothing across starts. */
  constructor(file: string, topic: string, state: TopicStateTables) {
    // A crash may lose the last transactions; each holds its records and their offsets, so they are read again.
    this.db = openLocalDatabase(file, { what: state.what, synchronous: 'NORMAL' });
    this.tables = state.tables;
    this.open(topic, state);
    this.savePosition = this.db.prepare<[number, string]>('INSERT OR REPLACE INTO read_position VALUES (?, ?)');
  }

  /** Creates the tables, or starts afresh when the file was made by another version or from another topic. */
  private open(topic: string, state: TopicStateTables): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    const madeFrom = version === state.version ? (this.db.prepare('SELECT topic FROM source').get() as { topic: string } | undefined)?.topic : undefined;
    this.db.transaction(() => {
      if (version !== state.version || madeFrom !== topic) {
        this.db.exec([...state.tables, 'read_position', 'source'].map((table) => `DROP TABLE IF EXISTS ${table};`).join(' '));
      }
      this.db.exec(`${state.schema}
        CREATE TABLE IF NOT EXISTS read_position (partition INTEGER PRIMARY KEY, next_offset TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS source (topic TEXT NOT NULL);`);
      if (madeFrom !== topic) {
        this.db.prepare('INSERT INTO source VALUES (?)').run(topic);
      }
      this.db.pragma(`user_version = ${state.version}`);
    })();
  }

  load(): Map<number, bigint> {
    const rows = this.db.prepare<[], { partition: number; next: string }>('SELECT partition, next_offset AS next FROM read_position').all();
    return new Map(rows.map((row) => [row.partition, BigInt(row.next)]));
  }

  reset(): void {
    this.db.exec([...this.tables, 'read_position'].map((table) => `DELETE FROM ${table};`).join(' '));
  }

  saveWith(partition: number, nextOffset: bigint, applyRecords: () => void): void {
    this.db.transaction(() => {
      applyRecords();
      this.savePosition.run(partition, nextOffset.toString());
    })();
  }

  close(): void {
    if (this.db.open) {
      this.db.close();
    }
  }
}
