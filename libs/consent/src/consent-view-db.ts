import type Database from 'better-sqlite3';
import type { PatientConsentState } from './policy';
import { TopicStateDb } from './topic-state-db';

const SCHEMA = `CREATE TABLE IF NOT EXISTS states (patient_key TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID;`;

/**
 * Every patient's consent state on disk (TopicStateDb: SQLite, with how far it has read the
 * decisions topic). Holds patient identifiers, like the topic it is read from.
 */
export class ConsentViewDb extends TopicStateDb {
  private readonly statements: ReturnType<typeof prepare>;

  /** `file` ':memory:' keeps nothing across starts. */
  constructor(file: string, topic: string) {
    super(file, topic, { what: 'the consent view', version: 1, schema: SCHEMA, tables: ['states'] });
    this.statements = prepare(this.db);
  }

  get(patientKey: string): PatientConsentState | undefined {
    const row = this.statements.get.get(patientKey);
    return row && (JSON.parse(row.state) as PatientConsentState);
  }

  put(patientKey: string, state: PatientConsentState): void {
    this.statements.put.run(patientKey, JSON.stringify(state));
  }

  delete(patientKey: string): void {
    this.statements.delete.run(patientKey);
  }

  /** Every patient's state, in key order, read a page at a time: no statement stays open while the caller awaits. */
  *entries(pageSize = 2_000): Generator<[string, PatientConsentState]> {
    for (let page = this.statements.page.all('', pageSize); page.length > 0; page = this.statements.page.all(page[page.length - 1]!.patientKey, pageSize)) {
      for (const row of page) {
        yield [row.patientKey, JSON.parse(row.state) as PatientConsentState];
      }
    }
  }

  count(): number {
    return this.statements.count.get()!.count;
  }
}

function prepare(db: Database.Database) {
  return {
    get: db.prepare<[string], { state: string }>('SELECT state FROM states WHERE patient_key = ?'),
    put: db.prepare<[string, string]>('INSERT OR REPLACE INTO states VALUES (?, ?)'),
    delete: db.prepare<[string]>('DELETE FROM states WHERE patient_key = ?'),
    page: db.prepare<[string, number], { patientKey: string; state: string }>(
      'SELECT patient_key AS patientKey, state FROM states WHERE patient_key > ? ORDER BY patient_key LIMIT ?',
    ),
    count: db.prepare<[], { count: number }>('SELECT COUNT(*) AS count FROM states'),
  };
}
