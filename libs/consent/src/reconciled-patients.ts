import type Database from 'better-sqlite3';
import { openLocalDatabase } from '@imaging-facade/service-kit';
import type { ConsentPolicy } from './policy';

/** A patient's row: the fingerprint of the decisions last applied to all their studies, or null while applying. */
export interface ReconciledRow {
  patientKey: string;
  fingerprint: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS patients (patient_key TEXT PRIMARY KEY, fingerprint TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS links (patient_key TEXT PRIMARY KEY, linked TEXT NOT NULL) WITHOUT ROWID;
`;

/**
 * Which consent decisions the index already reflects, so that a restart applies only those that
 * changed since (the mapper's consent sweep). Per patient: the fingerprint of the decisions last
 * applied to every one of their studies (decisionsFingerprint), or "applying" from the moment a
 * change starts to be applied until it is applied to every study; no row: no decision was ever
 * applied, or none is left. And the policy under which the last sweep of every patient ran,
 * whether a sweep has labelled every refuser's record, and per patient the other identifiers the
 * index linked to them when their decisions were applied (a link made since is a change too).
 * A row is marked before the index is touched, and that mark is fsynced: whatever a crash
 * interrupts is found marked at the next start. The other writes are not waited for: one lost
 * leaves an older row or a mark, and its patient is swept again. Derived data: deleting the file
 * makes the next start apply every patient's decisions again. One process per file. Holds patient
 * identifiers (the keys).
 */
export class ReconciledPatients {
  private readonly db: Database.Database;
  private readonly statements: ReturnType<typeof prepare>;

  /** `file` ':memory:' keeps nothing across starts. */
  constructor(file = ':memory:') {
    // Only a mark must survive a crash (begin); a row lost otherwise makes its patient swept again.
    this.db = openLocalDatabase(file, { what: 'the record of applied consent decisions', synchronous: 'NORMAL' });
    this.db.exec(SCHEMA);
    this.statements = prepare(this.db);
  }

  /** The policy of the last sweep that went through every patient; undefined before the first. */
  policy(): ConsentPolicy | undefined {
    return this.statements.setting.get('policy')?.value as ConsentPolicy | undefined;
  }

  setPolicy(policy: ConsentPolicy): void {
    this.statements.setSetting.run('policy', policy);
  }

  /** Whether a sweep has labelled every refuser's record (libs/consent WITHHELD_LABEL) since labels exist. */
  labelled(): boolean {
    return this.statements.setting.get('withheld-labels')?.value === 'done';
  }

  setLabelled(): void {
    this.statements.setSetting.run('withheld-labels', 'done');
  }

  /** Marks the patient as being applied, durably (fsynced): call it before the first write to the index. */
  begin(patientKey: string): void {
    this.db.pragma('synchronous = FULL');
    try {
      this.statements.put.run(patientKey, null);
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /** Every study of the patient now reflects these decisions (undefined: none, the policy decides). */
  done(patientKey: string, fingerprint: string | undefined): void {
    if (fingerprint === undefined) {
      this.statements.delete.run(patientKey);
    } else {
      this.statements.put.run(patientKey, fingerprint);
    }
  }

  /**
   * The other identifiers (keys, sorted) the index linked to the patient when their decisions were
   * last applied to every study; none before any link was seen.
   */
  linksOf(patientKey: string): string[] {
    const row = this.statements.links.get(patientKey);
    return row ? row.linked.split('\n').filter(Boolean) : [];
  }

  setLinks(patientKey: string, linked: readonly string[]): void {
    if (linked.length === 0) {
      this.statements.deleteLinks.run(patientKey);
    } else {
      this.statements.putLinks.run(patientKey, [...linked].sort().join('\n'));
    }
  }

  /** The patient's row: a fingerprint, null while being applied, undefined when there is none. */
  fingerprintOf(patientKey: string): string | null | undefined {
    const row = this.statements.row.get(patientKey);
    return row === undefined ? undefined : row.fingerprint;
  }

  /** Every row, in key order, read a page at a time: no statement stays open while the caller awaits. */
  *rows(pageSize = 2_000): Generator<ReconciledRow> {
    for (let page = this.statements.page.all('', pageSize); page.length > 0; page = this.statements.page.all(page[page.length - 1]!.patientKey, pageSize)) {
      yield* page;
    }
  }

  close(): void {
    if (this.db.open) {
      this.db.close();
    }
  }
}

function prepare(db: Database.Database) {
  return {
    setting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE name = ?'),
    setSetting: db.prepare<[string, string]>('INSERT OR REPLACE INTO settings VALUES (?, ?)'),
    put: db.prepare<[string, string | null]>('INSERT OR REPLACE INTO patients VALUES (?, ?)'),
    delete: db.prepare<[string]>('DELETE FROM patients WHERE patient_key = ?'),
    row: db.prepare<[string], { fingerprint: string | null }>('SELECT fingerprint FROM patients WHERE patient_key = ?'),
    links: db.prepare<[string], { linked: string }>('SELECT linked FROM links WHERE patient_key = ?'),
    putLinks: db.prepare<[string, string]>('INSERT OR REPLACE INTO links VALUES (?, ?)'),
    deleteLinks: db.prepare<[string]>('DELETE FROM links WHERE patient_key = ?'),
    page: db.prepare<[string, number], ReconciledRow>(
      'SELECT patient_key AS patientKey, fingerprint FROM patients WHERE patient_key > ? ORDER BY patient_key LIMIT ?',
    ),
  };
}
