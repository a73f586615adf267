import type Database from 'better-sqlite3';
import type { StudyFacts } from '@imaging-facade/access';
import { isValidatedReport, REPORT_SOP_CLASSES, tagOf, type DicomAttribute, type DicomJson } from '@imaging-facade/dicom';
import type { PatientIdentifier } from '@imaging-facade/events';
import { randomUUID } from 'node:crypto';
import { openLocalDatabase } from '@imaging-facade/service-kit';

/**
 * The node's own index of what it stores, for QIDO-RS and for finding files: one row per study,
 * series and instance (SQLite, in one file, WAL). It is derived data: made from the study snapshots
 * of the compacted study topic, and rebuilt from that topic when the file is new or was made by a
 * version that derived its rows otherwise (`DERIVATION`): each file is fed by a consumer group of its
 * own (`consumerGroup`), which a new file starts afresh, at the topic's beginning. Holds patient
 * data (names, IDs), like the instances it describes.
 */

/**
 * How the rows are derived from the snapshots, as `PRAGMA user_version`. Raised whenever a change
 * would make rows already written wrong: the index is then emptied and read again from the topic.
 * 1: group lengths left out of the metadata, the node's own manifest left out of listings, ACR-NEMA
 *    study dates in today's form (2026-12-07).
 * 2: the instances left out (file missing or unreadable) recorded per study, so that the index says
 *    how many it cannot serve now, not how often it met them (2026-12-07).
 */
export const DERIVATION = 2;

/** Why an instance of a snapshot is not served: its file is gone, or cannot be read. */
export type LeftOutReason = 'missing' | 'unreadable';

export interface StudyRow {
  studyUid: string;
  patientSystem: string | null;
  patientValue: string | null;
  patientId: string | null;
  /** PatientName's alphabetic group, upper-cased, for matching. */
  patientNameKey: string | null;
  studyDate: string | null;
  accession: string | null;
  /** ModalitiesInStudy, backslash-joined. */
  modalities: string;
  numberOfSeries: number;
  numberOfInstances: number;
  /** The study's patient and study attributes, DICOM JSON text. */
  attributes: string;
}

export interface SeriesRow {
  studyUid: string;
  seriesUid: string;
  modality: string | null;
  seriesNumber: number | null;
  numberOfInstances: number;
  attributes: string;
  /** 0: the node's own manifest, retrieved by its URL and never listed (see LISTED); 1 by default. */
  listed?: 0 | 1;
}

export interface InstanceRow {
  studyUid: string;
  seriesUid: string;
  sopUid: string;
  sopClassUid: string;
  instanceNumber: number | null;
  transferSyntaxUid: string;
  /** Relative to the storage root. */
  storagePath: string;
  sizeBytes: number | null;
  /** The instance's full metadata, DICOM JSON text, BulkDataURIs relative to BULK_BASE. */
  metadata: string;
  /** As SeriesRow's. */
  listed?: 0 | 1;
}

/** An instance without its metadata: what a retrieve of its file needs. */
/** An instance's file, with what serving it needs to know of its pixels (read from its metadata). */
export type InstanceFileRow = Omit<InstanceRow, 'metadata'> & { bitsAllocated?: number | null };

export interface IndexedStudy {
  study: StudyRow;
  series: SeriesRow[];
  instances: InstanceRow[];
  /** The snapshot's instances not served, and why (none by default). */
  leftOut?: ReadonlyArray<{ sopUid: string; reason: LeftOutReason }>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS studies (
  study_uid TEXT PRIMARY KEY,
  patient_system TEXT, patient_value TEXT, patient_id TEXT, patient_name_key TEXT,
  study_date TEXT, accession TEXT, modalities TEXT NOT NULL,
  number_of_series INTEGER NOT NULL, number_of_instances INTEGER NOT NULL,
  attributes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS studies_patient ON studies (patient_system, patient_value);
CREATE INDEX IF NOT EXISTS studies_patient_id ON studies (patient_id);
CREATE INDEX IF NOT EXISTS studies_date ON studies (study_date);
CREATE INDEX IF NOT EXISTS studies_accession ON studies (accession);
CREATE TABLE IF NOT EXISTS series (
  study_uid TEXT NOT NULL, series_uid TEXT NOT NULL, modality TEXT, series_number INTEGER,
  number_of_instances INTEGER NOT NULL, attributes TEXT NOT NULL, listed INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (study_uid, series_uid)
);
CREATE INDEX IF NOT EXISTS series_modality ON series (modality);
CREATE TABLE IF NOT EXISTS instances (
  study_uid TEXT NOT NULL, series_uid TEXT NOT NULL, sop_uid TEXT NOT NULL, sop_class_uid TEXT NOT NULL,
  instance_number INTEGER, transfer_syntax_uid TEXT NOT NULL, storage_path TEXT NOT NULL, size_bytes INTEGER,
  metadata TEXT NOT NULL, listed INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (study_uid, sop_uid)
);
CREATE INDEX IF NOT EXISTS instances_series ON instances (study_uid, series_uid);
CREATE TABLE IF NOT EXISTS left_out (
  study_uid TEXT NOT NULL, sop_uid TEXT NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (study_uid, sop_uid)
);
`;

const STUDY_COLUMNS = `study_uid AS studyUid, patient_system AS patientSystem, patient_value AS patientValue, patient_id AS patientId,
  patient_name_key AS patientNameKey, study_date AS studyDate, accession, modalities, number_of_series AS numberOfSeries,
  number_of_instances AS numberOfInstances, attributes`;
const SERIES_COLUMNS = `study_uid AS studyUid, series_uid AS seriesUid, modality, series_number AS seriesNumber,
  number_of_instances AS numberOfInstances, attributes`;
const INSTANCE_FILE_COLUMNS = `study_uid AS studyUid, series_uid AS seriesUid, sop_uid AS sopUid, sop_class_uid AS sopClassUid,
  instance_number AS instanceNumber, transfer_syntax_uid AS transferSyntaxUid, storage_path AS storagePath, size_bytes AS sizeBytes`;
const INSTANCE_COLUMNS = `${INSTANCE_FILE_COLUMNS}, metadata`;
const ACCESS_COLUMNS = 'study_uid AS studyUid, accession, patient_system AS patientSystem, patient_value AS patientValue';
/** What isValidatedReport reads of a report (libs/dicom: "the two flags, at least"). */
const REPORT_FLAGS = [tagOf('VerificationFlag'), tagOf('CompletionFlag')];
const BITS_ALLOCATED = `json_extract(metadata, '$."00280100".Value[0]') AS bitsAllocated`;

/** A WHERE clause and its parameters, built by the QIDO query (qido/sql.ts). */
export interface Condition {
  sql: string;
  params: unknown[];
}

/**
 * Rows a listing shows: not the node's own manifest (a KOS the ingest writes for the index, IHE
 * XDS-I.b and MADO). A reader took its "KO Manifest" series for key images (OHIF listed it in every
 * study, with a warning mark); the DocumentReference gives its URL, which retrieves it.
 */
export const LISTED: Condition = { sql: 'listed = 1', params: [] };

/** The order each level is listed in (QIDO-RS pages over it): a total order, its primary key last. */
const LISTING = {
  studies: { columns: STUDY_COLUMNS, order: 'study_date DESC, study_uid' },
  series: { columns: SERIES_COLUMNS, order: 'study_uid, series_number, series_uid' },
  instances: { columns: INSTANCE_COLUMNS, order: 'study_uid, series_uid, instance_number, sop_uid' },
} as const;

export type ListedTable = keyof typeof LISTING;

/** A match before its row is read: the row's key (for `studiesAt`, `seriesAt`, `instancesAt`) and its study. */
export interface MatchKey {
  key: number;
  studyUid: string;
}

/** What the access rule reads of a study (`factsOf`): no attributes. */
export type StudyAccessRow = Pick<StudyRow, 'studyUid' | 'accession' | 'patientSystem' | 'patientValue'>;

export class StudyIndexDb {
  private readonly db: Database.Database;
  /** Asked once per study a search meets: prepared once. */
  private readonly studyAccess: Database.Statement;

  constructor(file: string) {
    // One process at a time: a second dicomweb on the same data directory fails at start, saying so.
    // The index is rebuilt from the study topic after a crash: losing its last transactions is harmless.
    this.db = openLocalDatabase(file, { what: 'the DICOMweb index', synchronous: 'NORMAL' });
    if (this.db.pragma('user_version', { simple: true }) !== DERIVATION) {
      // Emptied and given a new feed in one transaction: a crash leaves the old file or the new one.
      this.db.transaction(() => {
        this.db.exec('DROP TABLE IF EXISTS studies; DROP TABLE IF EXISTS series; DROP TABLE IF EXISTS instances; DROP TABLE IF EXISTS left_out; DROP TABLE IF EXISTS feed;');
        this.db.exec(SCHEMA);
        this.db.exec('CREATE TABLE feed (consumer_group_suffix TEXT NOT NULL, caught_up INTEGER NOT NULL DEFAULT 0)');
        this.db.prepare('INSERT INTO feed (consumer_group_suffix) VALUES (?)').run(randomUUID().slice(0, 8));
        this.db.pragma(`user_version = ${DERIVATION}`);
      })();
    }
    this.db.exec(SCHEMA);
    this.studyAccess = this.db.prepare(`SELECT ${ACCESS_COLUMNS} FROM studies WHERE study_uid = ?`);
  }

  /**
   * The file is being filled from the study topic's beginning (new, or of another derivation) and
   * has not yet caught up with it: kept in the file, so that a restart in the middle (a deploy, an
   * operator taking the 503s for a hang) still waits (IndexCatchUp).
   */
  get rebuilding(): boolean {
    return (this.db.prepare('SELECT caught_up AS caughtUp FROM feed').get() as { caughtUp: number }).caughtUp === 0;
  }

  /** The rebuilt file has read the study topic as far as it reached when the service started. */
  caughtUp(): void {
    this.db.prepare('UPDATE feed SET caught_up = 1').run();
  }

  /**
   * The consumer group that feeds this file: `base` and the file's own suffix. A new file has a new
   * group, which starts at the topic's beginning; until 2026-12-07 a deleted file needed its group's
   * offsets reset by hand.
   */
  consumerGroup(base: string): string {
    const { suffix } = this.db.prepare('SELECT consumer_group_suffix AS suffix FROM feed').get() as { suffix: string };
    return `${base}.${suffix}`;
  }

  /** Replaces everything known of one study with this snapshot's content, in one transaction. */
  replaceStudy(indexed: IndexedStudy): void {
    const { study } = indexed;
    this.db.transaction(() => {
      this.deleteRows(study.studyUid);
      this.db
        .prepare(
          `INSERT INTO studies VALUES (@studyUid, @patientSystem, @patientValue, @patientId, @patientNameKey, @studyDate, @accession,
           @modalities, @numberOfSeries, @numberOfInstances, @attributes)`,
        )
        .run(study);
      const series = this.db.prepare(`INSERT INTO series VALUES (@studyUid, @seriesUid, @modality, @seriesNumber, @numberOfInstances, @attributes, @listed)`);
      for (const row of indexed.series) {
        series.run({ ...row, listed: row.listed ?? 1 });
      }
      const instance = this.db.prepare(
        `INSERT OR REPLACE INTO instances VALUES (@studyUid, @seriesUid, @sopUid, @sopClassUid, @instanceNumber, @transferSyntaxUid,
         @storagePath, @sizeBytes, @metadata, @listed)`,
      );
      for (const row of indexed.instances) {
        instance.run({ ...row, listed: row.listed ?? 1 });
      }
      this.recordLeftOut(study.studyUid, indexed.leftOut ?? []);
    })();
  }

  /**
   * Forgets a study: every instance of it was rejected (IHE IOCM), or none can be served (`leftOut`
   * says which, and why: they still count as left out).
   */
  removeStudy(studyUid: string, leftOut: IndexedStudy['leftOut'] = []): void {
    this.db.transaction(() => {
      this.deleteRows(studyUid);
      this.recordLeftOut(studyUid, leftOut);
    })();
  }

  /** How many instances of the indexed snapshots the node cannot serve now, by reason. */
  leftOutCounts(): Record<LeftOutReason, number> {
    const rows = this.db.prepare('SELECT reason, count(*) AS count FROM left_out GROUP BY reason').all() as Array<{ reason: LeftOutReason; count: number }>;
    return { missing: 0, unreadable: 0, ...Object.fromEntries(rows.map((row) => [row.reason, row.count])) };
  }

  private recordLeftOut(studyUid: string, leftOut: NonNullable<IndexedStudy['leftOut']>): void {
    const insert = this.db.prepare('INSERT OR REPLACE INTO left_out VALUES (?, ?, ?)');
    for (const { sopUid, reason } of leftOut) {
      insert.run(studyUid, sopUid, reason);
    }
  }

  private deleteRows(studyUid: string): void {
    for (const table of ['studies', 'series', 'instances', 'left_out']) {
      this.db.prepare(`DELETE FROM ${table} WHERE study_uid = ?`).run(studyUid);
    }
  }

  study(studyUid: string): StudyRow | undefined {
    return this.db.prepare(`SELECT ${STUDY_COLUMNS} FROM studies WHERE study_uid = ?`).get(studyUid) as StudyRow | undefined;
  }

  /** What the access rule decides on for one study (`factsOf`), without its attributes. */
  studyAccessRow(studyUid: string): StudyAccessRow | undefined {
    return this.studyAccess.get(studyUid) as StudyAccessRow | undefined;
  }

  /** The studies of `studyUids` that are indexed, by UID. */
  studies(studyUids: readonly string[]): Map<string, StudyRow> {
    const rows = this.db.prepare(`SELECT ${STUDY_COLUMNS} FROM studies WHERE study_uid IN (SELECT value FROM json_each(?))`).all(JSON.stringify(studyUids)) as StudyRow[];
    return new Map(rows.map((row) => [row.studyUid, row]));
  }

  /** Studies matching `where`, ordered by date (newest first) then UID: the caller pages after access filtering. */
  findStudies(where: Condition): StudyRow[] {
    return this.find('studies', where) as StudyRow[];
  }

  findSeries(where: Condition): SeriesRow[] {
    return this.find('series', where) as SeriesRow[];
  }

  findInstances(where: Condition): InstanceRow[] {
    return this.find('instances', where) as InstanceRow[];
  }

  private find(table: ListedTable, where: Condition): unknown[] {
    return this.db.prepare(`SELECT ${LISTING[table].columns} FROM ${table} WHERE ${where.sql} ORDER BY ${LISTING[table].order}`).all(...where.params);
  }

  /**
   * The rows matching `where`, in the order `find…` lists them, read one at a time and without
   * their attributes or metadata: a search cuts its page from them after the access rule, stops
   * there, and reads only the page's rows (`studiesAt`, `seriesAt`, `instancesAt`). Close it
   * (`return()`, or leave a `for…of`) when not read to the end.
   */
  matchKeys(table: ListedTable, where: Condition): IterableIterator<MatchKey> {
    return this.db.prepare(`SELECT rowid AS key, study_uid AS studyUid FROM ${table} WHERE ${where.sql} ORDER BY ${LISTING[table].order}`).iterate(...where.params) as IterableIterator<MatchKey>;
  }

  studiesAt(keys: readonly MatchKey[]): StudyRow[] {
    return this.rowsAt('studies', keys) as StudyRow[];
  }

  seriesAt(keys: readonly MatchKey[]): SeriesRow[] {
    return this.rowsAt('series', keys) as SeriesRow[];
  }

  instancesAt(keys: readonly MatchKey[]): InstanceRow[] {
    return this.rowsAt('instances', keys) as InstanceRow[];
  }

  /** The rows of `keys`, in their order, in one query. */
  private rowsAt(table: ListedTable, keys: readonly MatchKey[]): unknown[] {
    const rows = this.db
      .prepare(`SELECT rowid AS rowKey, ${LISTING[table].columns} FROM ${table} WHERE rowid IN (SELECT value FROM json_each(?))`)
      .all(JSON.stringify(keys.map(({ key }) => key))) as Array<{ rowKey: number }>;
    const byKey = new Map(rows.map(({ rowKey, ...row }) => [rowKey, row]));
    return keys.flatMap(({ key }) => byKey.get(key) ?? []);
  }

  /** The instances of a study, a series or one instance, in retrieve order. */
  instancesOf(studyUid: string, seriesUid?: string, sopUid?: string): InstanceRow[] {
    return this.findInstances(StudyIndexDb.scope(studyUid, seriesUid, sopUid));
  }

  /**
   * The same without their metadata, for retrieving their files: a 2000-instance study's metadata
   * is ~24 MB of text, which a retrieve does not need to hold while it streams.
   */
  instanceFilesOf(studyUid: string, seriesUid?: string, sopUid?: string): InstanceFileRow[] {
    const where = StudyIndexDb.scope(studyUid, seriesUid, sopUid);
    return this.db
      .prepare(`SELECT ${INSTANCE_FILE_COLUMNS}, ${BITS_ALLOCATED} FROM instances WHERE ${where.sql} ORDER BY ${LISTING.instances.order}`)
      .all(...where.params) as InstanceFileRow[];
  }

  /**
   * A study's or a series' thumbnail instance: the middle one, in retrieve order, of those with
   * Pixel Data, with its metadata; undefined when none has. Only that row is read (a thumbnail of a
   * 5,000-instance study loaded every instance's metadata, ~60 MB of text, to pick one).
   */
  middleImageOf(studyUid: string, seriesUid?: string): InstanceRow | undefined {
    const where = StudyIndexDb.scope(studyUid, seriesUid);
    const withPixels = `${where.sql} AND instr(metadata, '"7FE00010"') > 0`;
    const { count } = this.db.prepare(`SELECT count(*) AS count FROM instances WHERE ${withPixels}`).get(...where.params) as { count: number };
    if (count === 0) return undefined;
    return this.db
      .prepare(`SELECT ${INSTANCE_COLUMNS} FROM instances WHERE ${withPixels} ORDER BY ${LISTING.instances.order} LIMIT 1 OFFSET ?`)
      .get(...where.params, Math.floor(count / 2)) as InstanceRow;
  }

  /** A whole study's instances are those listed; a series or an instance named by its UID is found whatever it is. */
  private static scope(studyUid: string, seriesUid?: string, sopUid?: string): Condition {
    const conditions = ['study_uid = ?', ...(seriesUid ? ['series_uid = ?'] : []), ...(sopUid ? ['sop_uid = ?'] : []), ...(seriesUid || sopUid ? [] : [LISTED.sql])];
    return { sql: conditions.join(' AND '), params: [studyUid, ...(seriesUid ? [seriesUid] : []), ...(sopUid ? [sopUid] : [])] };
  }

  /** What the access rule decides on for an indexed study: its UID, accession number and patient identity. */
  static factsOf(study: StudyAccessRow): StudyFacts {
    return { studyInstanceUid: study.studyUid, accessionNumber: study.accession ?? undefined, patient: StudyIndexDb.patientOf(study) };
  }

  /** As `factsOf`, with whether the study holds a validated report (asked of the index only when the rule needs it). */
  accessFactsOf(study: StudyAccessRow): StudyFacts {
    return { ...StudyIndexDb.factsOf(study), reported: () => this.holdsValidatedReport(study.studyUid) };
  }

  /**
   * Whether one of the study's instances is a validated report (libs/dicom isValidatedReport, on
   * its flags): only the two flags are read out of each report's metadata, which is not parsed
   * whole (a search asks this of every study it meets for a GP's token, up to its page).
   */
  holdsValidatedReport(studyUid: string): boolean {
    const flags = REPORT_FLAGS.map((tag) => `metadata -> '$."${tag}"' AS "${tag}"`).join(', ');
    const rows = this.db
      .prepare(`SELECT sop_class_uid AS sopClassUid, ${flags} FROM instances WHERE study_uid = ? AND sop_class_uid IN (${REPORT_SOP_CLASSES.map(() => '?').join(', ')})`)
      .all(studyUid, ...REPORT_SOP_CLASSES) as Array<{ sopClassUid: string } & Record<string, string | null>>;
    return rows.some((row) => {
      const attributes: DicomJson = Object.fromEntries(REPORT_FLAGS.flatMap((tag) => (row[tag] === null || row[tag] === undefined ? [] : [[tag, JSON.parse(row[tag]) as DicomAttribute]])));
      return isValidatedReport(row.sopClassUid, attributes);
    });
  }

  /** The patient identity under which a study is indexed (for the access rule). */
  static patientOf(study: { patientSystem?: string | null; patientValue?: string | null }): PatientIdentifier[] {
    return study.patientSystem && study.patientValue ? [{ system: study.patientSystem, value: study.patientValue }] : [];
  }

  close(): void {
    this.db.close();
  }
}
