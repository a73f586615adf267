import type Database from 'better-sqlite3';
import { patientKey } from '@imaging-facade/events';
import { openLocalDatabase } from './local-database';
import type { SavedReadPosition } from './read-position';
import type { StudyPatient, StudySummary } from './study-summary';

/** One study as the catalogue keeps it. */
export interface CatalogRow {
  studyInstanceUid: string;
  summary: StudySummary;
  patient: StudyPatient | undefined;
  /** The packed snapshot, when the catalogue keeps them. */
  snapshot: Buffer | undefined;
}

/** Bumped when the tables change: a file of another version is read again from the topic. */
const VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS studies (
  study_uid TEXT PRIMARY KEY,
  last_received_at TEXT NOT NULL,
  patient_key TEXT, identifier_value TEXT, birth_date TEXT,
  summary TEXT NOT NULL, patient TEXT, snapshot BLOB
);
CREATE INDEX IF NOT EXISTS studies_patient ON studies (patient_key);
CREATE INDEX IF NOT EXISTS studies_identifier ON studies (identifier_value);
CREATE INDEX IF NOT EXISTS studies_birth_date ON studies (birth_date);
CREATE TABLE IF NOT EXISTS read_position (partition INTEGER PRIMARY KEY, next_offset TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS source (topic TEXT NOT NULL);
`;

interface StoredRow {
  summary: string;
  patient: string | null;
}

/**
 * The study catalogue on disk (SQLite, one file, WAL), with how far it has read the study topic, so
 * that a restart reads only what came since. Derived data: deleting the file makes the next start
 * read the topic again from the beginning. One process per file: the file is locked while open.
 * Holds patient data (identifiers, names, birth dates), like the topic it is read from.
 */
export class StudyCatalogDb implements SavedReadPosition {
  private readonly db: Database.Database;
  private readonly statements: ReturnType<typeof prepare>;

  /** `file` ':memory:' keeps nothing across starts. */
  constructor(file: string, topic: string) {
    // A crash may lose the last transactions; each holds its records and their offsets, so it is read again.
    this.db = openLocalDatabase(file, { what: 'the study catalogue', synchronous: 'NORMAL' });
    this.open(topic);
    this.statements = prepare(this.db);
  }

  /** Creates the tables, or starts afresh when the file was made by another version or from another topic. */
  private open(topic: string): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    const madeFrom = version === VERSION ? (this.db.prepare('SELECT topic FROM source').get() as { topic: string } | undefined)?.topic : undefined;
    this.db.transaction(() => {
      if (version !== VERSION || madeFrom !== topic) {
        this.db.exec('DROP TABLE IF EXISTS studies; DROP TABLE IF EXISTS read_position; DROP TABLE IF EXISTS source;');
      }
      this.db.exec(SCHEMA);
      if (madeFrom !== topic) {
        this.db.prepare('INSERT INTO source VALUES (?)').run(topic);
      }
      this.db.pragma(`user_version = ${VERSION}`);
    })();
  }

  lastReceivedAt(studyInstanceUid: string): string | undefined {
    return this.statements.lastReceivedAt.get(studyInstanceUid)?.last;
  }

  put(row: CatalogRow): void {
    this.statements.put.run({
      studyInstanceUid: row.studyInstanceUid,
      lastReceivedAt: row.summary.lastReceivedAt,
      patientKey: row.patient ? patientKey(row.patient.identifier) : null,
      identifierValue: row.patient?.identifier.value ?? null,
      birthDate: row.patient?.birthDate ?? null,
      summary: JSON.stringify(row.summary),
      patient: row.patient ? JSON.stringify(row.patient) : null,
      snapshot: row.snapshot ?? null,
    });
  }

  delete(studyInstanceUid: string): void {
    this.statements.delete.run(studyInstanceUid);
  }

  study(studyInstanceUid: string): { summary: StudySummary; patientKey: string | undefined } | undefined {
    const row = this.statements.study.get(studyInstanceUid);
    return row && { summary: JSON.parse(row.summary) as StudySummary, patientKey: row.patientKey ?? undefined };
  }

  snapshot(studyInstanceUid: string): Buffer | undefined {
    return this.statements.snapshot.get(studyInstanceUid)?.snapshot ?? undefined;
  }

  count(): number {
    return this.statements.count.get()!.count;
  }

  patientKeys(): string[] {
    return this.statements.patientKeys.all().map((row) => row.key);
  }

  /** The patient's studies, each with the patient as that study describes them. */
  studiesOf(patientKey: string): Array<{ summary: StudySummary; patient: StudyPatient }> {
    return this.statements.ofPatient.all(patientKey).map((row) => ({ summary: JSON.parse(row.summary) as StudySummary, patient: JSON.parse(row.patient!) as StudyPatient }));
  }

  /** Keys of the patients with a study whose Patient ID is `value`. */
  patientKeysWithIdentifier(value: string): string[] {
    return this.statements.keysWithIdentifier.all(value).map((row) => row.key);
  }

  /** Keys of the patients with a study that gives this birth date (YYYY-MM-DD). */
  patientKeysBornOn(birthDate: string): string[] {
    return this.statements.keysBornOn.all(birthDate).map((row) => row.key);
  }

  load(): Map<number, bigint> {
    return new Map(this.statements.position.all().map((row) => [row.partition, BigInt(row.next)]));
  }

  reset(): void {
    this.db.exec('DELETE FROM studies; DELETE FROM read_position;');
  }

  saveWith(partition: number, nextOffset: bigint, applyRecords: () => void): void {
    this.db.transaction(() => {
      applyRecords();
      this.statements.savePosition.run(partition, nextOffset.toString());
    })();
  }

  close(): void {
    if (this.db.open) {
      this.db.close();
    }
  }
}

/** The catalogue's statements, prepared once per file. */
function prepare(db: Database.Database) {
  return {
    lastReceivedAt: db.prepare<[string], { last: string }>('SELECT last_received_at AS last FROM studies WHERE study_uid = ?'),
    put: db.prepare(
      `INSERT OR REPLACE INTO studies VALUES (@studyInstanceUid, @lastReceivedAt, @patientKey, @identifierValue, @birthDate, @summary, @patient, @snapshot)`,
    ),
    delete: db.prepare<[string]>('DELETE FROM studies WHERE study_uid = ?'),
    study: db.prepare<[string], { patientKey: string | null; summary: string }>('SELECT patient_key AS patientKey, summary FROM studies WHERE study_uid = ?'),
    snapshot: db.prepare<[string], { snapshot: Buffer | null }>('SELECT snapshot FROM studies WHERE study_uid = ?'),
    count: db.prepare<[], { count: number }>('SELECT COUNT(*) AS count FROM studies'),
    patientKeys: db.prepare<[], { key: string }>('SELECT DISTINCT patient_key AS key FROM studies WHERE patient_key IS NOT NULL'),
    ofPatient: db.prepare<[string], StoredRow>('SELECT summary, patient FROM studies WHERE patient_key = ?'),
    keysWithIdentifier: db.prepare<[string], { key: string }>('SELECT DISTINCT patient_key AS key FROM studies WHERE identifier_value = ? AND patient_key IS NOT NULL'),
    keysBornOn: db.prepare<[string], { key: string }>('SELECT DISTINCT patient_key AS key FROM studies WHERE birth_date = ? AND patient_key IS NOT NULL'),
    position: db.prepare<[], { partition: number; next: string }>('SELECT partition, next_offset AS next FROM read_position'),
    savePosition: db.prepare<[number, string]>('INSERT OR REPLACE INTO read_position VALUES (?, ?)'),
  };
}
