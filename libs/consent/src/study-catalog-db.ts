import type Database from 'better-sqlite3';
import { patientKey } from '@imaging-facade/events';
import { TopicStateDb } from './topic-state-db';
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
`;

interface StoredRow {
  summary: string;
  patient: string | null;
}

/**
 * The study catalogue on disk (TopicStateDb: SQLite, with how far it has read the study topic).
 * Holds patient data (identifiers, names, birth dates), like the topic it is read from.
 */
export class StudyCatalogDb extends TopicStateDb {
  private readonly statements: ReturnType<typeof prepare>;

  /** `file` ':memory:' keeps nothing across starts. */
  constructor(file: string, topic: string) {
    super(file, topic, { what: 'the study catalogue', version: VERSION, schema: SCHEMA, tables: ['studies'] });
    this.statements = prepare(this.db);
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
  };
}
