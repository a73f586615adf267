import type Database from 'better-sqlite3';
import type { ConsentStateOrder } from '@imaging-facade/events';
import type { PatientConsentState } from './policy';
import { TopicStateDb } from './topic-state-db';

// `orders`: the order key of the state each patient holds (ConsentView's ordering), kept when every
// decision is revoked too, so that a state older than the revocation cannot bring them back.
const SCHEMA = `CREATE TABLE IF NOT EXISTS states (patient_key TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS orders (patient_key TEXT PRIMARY KEY, fhir_order TEXT NOT NULL) WITHOUT ROWID;`;

/**
 * Every patient's consent state on disk (TopicStateDb: SQLite, with how far it has read the
 * decisions topic). Holds patient identifiers, like the topic it is read from.
 */
export class ConsentViewDb extends TopicStateDb {
  private readonly statements: ReturnType<typeof prepare>;

  /** `file` ':memory:' keeps nothing across starts. */
  constructor(file: string, topic: string) {
    // Version 2 (2026-12-07) added `orders`: a file of version 1 is read again from the topic once.
    super(file, topic, { what: 'the consent view', version: 2, schema: SCHEMA, tables: ['states', 'orders'] });
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

  /** The order key of the patient's state held (undefined: none held, or a state published without one). */
  order(patientKey: string): ConsentStateOrder | undefined {
    const row = this.statements.getOrder.get(patientKey);
    return row && (JSON.parse(row.order) as ConsentStateOrder);
  }

  setOrder(patientKey: string, order: ConsentStateOrder | undefined): void {
    if (order === undefined) {
      this.statements.deleteOrder.run(patientKey);
    } else {
      this.statements.putOrder.run(patientKey, JSON.stringify(order));
    }
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
    getOrder: db.prepare<[string], { order: string }>('SELECT fhir_order AS "order" FROM orders WHERE patient_key = ?'),
    putOrder: db.prepare<[string, string]>('INSERT OR REPLACE INTO orders VALUES (?, ?)'),
    deleteOrder: db.prepare<[string]>('DELETE FROM orders WHERE patient_key = ?'),
    page: db.prepare<[string, number], { patientKey: string; state: string }>(
      'SELECT patient_key AS patientKey, state FROM states WHERE patient_key > ? ORDER BY patient_key LIMIT ?',
    ),
    count: db.prepare<[], { count: number }>('SELECT COUNT(*) AS count FROM states'),
  };
}
