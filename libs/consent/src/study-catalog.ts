import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Kafka } from 'kafkajs';
import { patientKey, STUDY_COMPLETED_V1, studyCompletedV1Schema, topicName, type StudyCompletedV1Data } from '@imaging-facade/events';
import type { Logger } from '@imaging-facade/service-kit';
import { CompactedTopicReader, CompactedTopicView, type TopicRecord } from './compacted-topic-reader';
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
   * Each is held packed (`packSnapshot`): it grows with the study, and the catalogue holds them all.
   */
  keepSnapshots?: boolean;
}

interface Entry {
  summary: StudySummary;
  patient: StudyPatient | undefined;
  snapshot: Buffer | undefined;
}

/**
 * The node's studies by patient, materialized from the compacted study-completed topic (its
 * durable catalogue of studies): who each study belongs to, and what the desk shows of it.
 */
export class StudyCatalog extends CompactedTopicView {
  private readonly studies = new Map<string, Entry>();
  private readonly byPatient = new Map<string, Set<string>>();
  protected readonly reader: CompactedTopicReader;
  readonly topic: string;

  constructor(private readonly options: StudyCatalogOptions) {
    super();
    this.topic = topicName(STUDY_COMPLETED_V1.topic, options.topicPrefix);
    const logger = options.logger.child({ component: 'study-catalog' });
    this.reader = new CompactedTopicReader({
      kafka: options.kafka,
      spec: STUDY_COMPLETED_V1,
      topicPrefix: options.topicPrefix,
      groupIdPrefix: options.groupIdPrefix ?? 'study-catalog',
      logger,
      apply: (record) => this.applyRecord(record),
    });
  }

  get size(): number {
    return this.studies.size;
  }

  /**
   * Adds or replaces a study from its snapshot. The reader calls it for every message; a service
   * that consumes the topic itself may call it first, so that the catalogue already holds the study
   * it is handling. An older snapshot never replaces a newer one.
   */
  apply(snapshot: StudyCompletedV1Data): void {
    const uid = snapshot.studyInstanceUid;
    const existing = this.studies.get(uid);
    if (existing && Date.parse(existing.summary.lastReceivedAt) > Date.parse(snapshot.lastReceivedAt)) {
      return;
    }
    this.remove(uid);
    const patient = patientOfStudy(snapshot, this.options.defaultPatientIdSystem);
    this.studies.set(uid, {
      summary: summarizeStudy(snapshot),
      patient,
      snapshot: this.options.keepSnapshots ? packSnapshot(snapshot) : undefined,
    });
    if (patient) {
      const key = patientKey(patient.identifier);
      const uids = this.byPatient.get(key) ?? new Set<string>();
      uids.add(uid);
      this.byPatient.set(key, uids);
    }
  }

  /** Forgets a study (a tombstone on the topic). */
  remove(studyInstanceUid: string): void {
    const existing = this.studies.get(studyInstanceUid);
    if (!existing) {
      return;
    }
    this.studies.delete(studyInstanceUid);
    if (existing.patient) {
      const key = patientKey(existing.patient.identifier);
      const uids = this.byPatient.get(key);
      uids?.delete(studyInstanceUid);
      if (uids?.size === 0) {
        this.byPatient.delete(key);
      }
    }
  }

  /** The study and the key of its patient (undefined when it has no Patient ID). */
  study(studyInstanceUid: string): { summary: StudySummary; patientKey: string | undefined } | undefined {
    const entry = this.studies.get(studyInstanceUid);
    return entry && { summary: entry.summary, patientKey: entry.patient && patientKey(entry.patient.identifier) };
  }

  /** The whole snapshot, when the catalogue keeps them: a new copy at each call. */
  snapshotOf(studyInstanceUid: string): StudyCompletedV1Data | undefined {
    const packed = this.studies.get(studyInstanceUid)?.snapshot;
    return packed && unpackSnapshot(packed);
  }

  /** The key of every patient with at least one study (e.g. to sweep them all under opt-in). */
  patientKeys(): string[] {
    return [...this.byPatient.keys()];
  }

  studiesOf(patientKey: string): StudySummary[] {
    return [...(this.byPatient.get(patientKey) ?? [])]
      .map((uid) => this.studies.get(uid)!.summary)
      .sort(mostRecentFirst);
  }

  /** The patient with their studies; demographics come from their most recently received study. */
  patient(key: string): CatalogPatient | undefined {
    const uids = this.byPatient.get(key);
    if (!uids || uids.size === 0) {
      return undefined;
    }
    const entries = [...uids].map((uid) => this.studies.get(uid)!);
    const newest = entries.reduce((a, b) => (Date.parse(b.summary.lastReceivedAt) > Date.parse(a.summary.lastReceivedAt) ? b : a));
    return { ...newest.patient!, key, studies: entries.map((entry) => entry.summary).sort(mostRecentFirst) };
  }

  /** Patients whose Patient ID is `value` (in `system` only, when given). */
  findByIdentifier(value: string, system?: string): CatalogPatient[] {
    const wanted = value.trim();
    return this.patientsWhere(
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
    return this.patientsWhere((patient) => {
      if (patient.birthDate !== birthDate || !patient.name) {
        return false;
      }
      const words = nameWords(patient.name);
      return wanted.every((query) => words.some((word) => word.startsWith(query)));
    });
  }

  private patientsWhere(predicate: (patient: StudyPatient) => boolean): CatalogPatient[] {
    const found: CatalogPatient[] = [];
    for (const key of this.byPatient.keys()) {
      const patient = this.patient(key);
      if (patient && predicate(patient)) {
        found.push(patient);
      }
    }
    return found;
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

/**
 * A snapshot held as its JSON, deflated: as objects it takes ~1.2 KB of heap per instance, packed
 * ~100 bytes (libs/consent README). In a Buffer of its own size, not a slice of Node's shared pool,
 * which a small one would keep alive.
 */
function packSnapshot(snapshot: StudyCompletedV1Data): Buffer {
  const deflated = deflateRawSync(JSON.stringify(snapshot), { level: 1 });
  const packed = Buffer.allocUnsafeSlow(deflated.length);
  deflated.copy(packed);
  return packed;
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
