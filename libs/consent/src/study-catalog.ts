import path from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Kafka } from 'kafkajs';
import { STUDY_COMPLETED_V1, studyCompletedV1Schema, topicName, type StudyCompletedV1Data } from '@imaging-facade/events';
import type { Logger } from '@imaging-facade/service-kit';
import { CompactedTopicReader, CompactedTopicView, type TopicRecord } from './compacted-topic-reader';
import { StudyCatalogDb } from './study-catalog-db';
import { patientOfStudy, summarizeStudy, type StudyPatient, type StudySummary } from './study-summary';

/** A patient as the node's studies describe them, with their studies, most recent first. */
export interface CatalogPatient extends StudyPatient {
  key: string;
  studies: StudySummary[];
}

export interface StudyCatalogOptions {
  kafka: Kafka;
  topicPrefix: string;
  /** The identifier system of a Patient ID that comes without an issuer (see patient-key.ts). */
  defaultPatientIdSystem: string;
  logger: Logger;
  groupIdPrefix?: string;
  /**
   * Keep each study's whole snapshot (`snapshotOf`), e.g. to republish it once consent is given.
   * Each is kept packed (`packSnapshot`).
   */
  keepSnapshots?: boolean;
  /**
   * Where the catalogue keeps its file (`<topic>.sqlite`), so that a restart reads only what the
   * topic got since. Without it, the catalogue is in memory and reads the whole topic at each start.
   */
  directory?: string;
}

/**
 * The node's studies by patient, materialized from the compacted study-completed topic (its
 * durable catalogue of studies): who each study belongs to, and what the desk shows of it. Kept in
 * a SQLite file with how far the topic was read (study-catalog-db.ts).
 */
export class StudyCatalog extends CompactedTopicView {
  private readonly db: StudyCatalogDb;
  protected readonly reader: CompactedTopicReader;
  readonly topic: string;
  /** The catalogue's file, or ':memory:'. */
  readonly file: string;

  constructor(private readonly options: StudyCatalogOptions) {
    super();
    this.topic = topicName(STUDY_COMPLETED_V1.topic, options.topicPrefix);
    this.file = options.directory ? path.join(options.directory, `${this.topic}.sqlite`) : ':memory:';
    this.db = new StudyCatalogDb(this.file, this.topic);
    const logger = options.logger.child({ component: 'study-catalog' });
    this.reader = new CompactedTopicReader({
      kafka: options.kafka,
      spec: STUDY_COMPLETED_V1,
      topicPrefix: options.topicPrefix,
      groupIdPrefix: options.groupIdPrefix ?? 'study-catalog',
      logger,
      apply: (record) => this.applyRecord(record),
      position: this.db,
    });
  }

  get size(): number {
    return this.db.count();
  }

  /** Stops following the topic and closes the file. */
  override async stop(): Promise<void> {
    await super.stop();
    this.db.close();
  }

  /**
   * Adds or replaces a study from its snapshot. The reader calls it for every message; a service
   * that consumes the topic itself may call it first, so that the catalogue already holds the study
   * it is handling. An older snapshot never replaces a newer one.
   */
  apply(snapshot: StudyCompletedV1Data): void {
    const uid = snapshot.studyInstanceUid;
    const existing = this.db.lastReceivedAt(uid);
    if (existing && Date.parse(existing) > Date.parse(snapshot.lastReceivedAt)) {
      return;
    }
    // Every instance rejected (IHE IOCM): the study is no longer shown, nor decided.
    if (snapshot.series.length === 0) {
      this.db.delete(uid);
      return;
    }
    const patient = patientOfStudy(snapshot, this.options.defaultPatientIdSystem);
    this.db.put({
      studyInstanceUid: uid,
      summary: summarizeStudy(snapshot),
      patient,
      snapshot: this.options.keepSnapshots ? packSnapshot(snapshot) : undefined,
    });
  }

  /** Forgets a study (a tombstone on the topic). */
  remove(studyInstanceUid: string): void {
    this.db.delete(studyInstanceUid);
  }

  /** The study and the key of its patient (undefined when it has no Patient ID). */
  study(studyInstanceUid: string): { summary: StudySummary; patientKey: string | undefined } | undefined {
    return this.db.study(studyInstanceUid);
  }

  /** The whole snapshot, when the catalogue keeps them: a new copy at each call. */
  snapshotOf(studyInstanceUid: string): StudyCompletedV1Data | undefined {
    const packed = this.db.snapshot(studyInstanceUid);
    return packed && unpackSnapshot(packed);
  }

  /** The key of every patient with at least one study (e.g. to sweep them all under opt-in). */
  patientKeys(): string[] {
    return this.db.patientKeys();
  }

  studiesOf(patientKey: string): StudySummary[] {
    return this.db
      .studiesOf(patientKey)
      .map((study) => study.summary)
      .sort(mostRecentFirst);
  }

  /** The patient with their studies; demographics come from their most recently received study. */
  patient(key: string): CatalogPatient | undefined {
    const studies = this.db.studiesOf(key);
    if (studies.length === 0) {
      return undefined;
    }
    const newest = studies.reduce((a, b) => (Date.parse(b.summary.lastReceivedAt) > Date.parse(a.summary.lastReceivedAt) ? b : a));
    return { ...newest.patient, key, studies: studies.map((study) => study.summary).sort(mostRecentFirst) };
  }

  /** Patients whose Patient ID is `value` (in `system` only, when given). */
  findByIdentifier(value: string, system?: string): CatalogPatient[] {
    const wanted = value.trim();
    return this.patientsWhere(
      this.db.patientKeysWithIdentifier(wanted),
      (patient) => patient.identifier.value === wanted && (system === undefined || patient.identifier.system === system),
    );
  }

  /**
   * Patients born on `birthDate` (YYYY-MM-DD) whose name contains every word of `name` as the
   * start of one of its words, ignoring case, accents and the DICOM `^` separators.
   */
  findByNameAndBirthDate(name: string, birthDate: string): CatalogPatient[] {
    const wanted = nameWords(name);
    if (wanted.length === 0) {
      return [];
    }
    return this.patientsWhere(this.db.patientKeysBornOn(birthDate), (patient) => {
      if (patient.birthDate !== birthDate || !patient.name) {
        return false;
      }
      const words = nameWords(patient.name);
      return wanted.every((query) => words.some((word) => word.startsWith(query)));
    });
  }

  /** Of the patients a study names under these keys, those whose current demographics match. */
  private patientsWhere(keys: string[], predicate: (patient: StudyPatient) => boolean): CatalogPatient[] {
    return keys.map((key) => this.patient(key)).filter((patient): patient is CatalogPatient => patient !== undefined && predicate(patient));
  }

  private applyRecord(record: TopicRecord): void {
    if (record.value === null) {
      if (record.key !== null) {
        this.remove(record.key);
      }
      return;
    }
    const parsed = studyCompletedV1Schema.safeParse(JSON.parse(record.value.toString('utf8')));
    if (!parsed.success) {
      throw new Error(`invalid study-completed message: ${parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    }
    this.apply(parsed.data.data);
  }
}

/** A snapshot kept as its JSON, deflated: ~100 bytes per instance (libs/consent README). */
function packSnapshot(snapshot: StudyCompletedV1Data): Buffer {
  return deflateRawSync(JSON.stringify(snapshot), { level: 1 });
}

/** What `packSnapshot` packed: checked against the schema when it was applied, so read back as it is. */
function unpackSnapshot(packed: Buffer): StudyCompletedV1Data {
  return JSON.parse(inflateRawSync(packed).toString('utf8')) as StudyCompletedV1Data;
}

/** Lower-case words without accents: "Dupont^Hélène" → ["dupont", "helene"]. */
export function nameWords(name: string): string[] {
  return name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0);
}

function mostRecentFirst(a: StudySummary, b: StudySummary): number {
  return (b.date ?? '').localeCompare(a.date ?? '') || b.lastReceivedAt.localeCompare(a.lastReceivedAt);
}
