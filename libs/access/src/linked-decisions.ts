import { identifiersOfPatient } from '@imaging-facade/consent';
import { parsePatientKey, patientKey, type PatientIdentifier } from '@imaging-facade/events';
import { patientRecordsHolding, type FhirClient } from '@imaging-facade/fhir';
import { errorMessage, retry, type Logger } from '@imaging-facade/service-kit';
import type { ConsentRules } from './consent';

/** What LinkedDecisions follows of libs/consent's ConsentView. */
export interface DecisionSource {
  ready(): Promise<void>;
  patients(): Iterable<[string, unknown]>;
  onChange(listener: (patientKey: string, state: unknown, change: { replaying: boolean }) => void): () => void;
}

/** The index's Patient records holding any of these identifiers, as their identifier lists (every one, all pages). */
export type PatientRecordSearch = (identifiers: readonly PatientIdentifier[]) => Promise<PatientIdentifier[][]>;

/** A link: the identifier `to` is governed by the decisions kept under `decision` (they share a record). */
type Link = readonly [to: string, decision: string];

/**
 * Which decisions govern a patient through the index's Patient records. A face that knows a study
 * by its own patient identifier only (DICOMweb's index: the hospital's ID from the DICOM header)
 * would miss a refusal the desk recorded under another identifier of the same patient (a regional
 * one), which the gateway honours because it reads the whole Patient record. So, from the side of
 * the decisions, which are few: for every patient with a decision, the records holding their
 * identifier are read, and each other identifier of those records is linked to that patient.
 * `expand` is then a synchronous look-up. Read in full by `refreshAll` (at start, then
 * periodically: a record linked or unlinked since by a master patient index), and for one patient
 * at each of their decision changes (retried until it succeeds; not ready meanwhile).
 */
export class LinkedDecisions {
  /** Identifier key → the decision keys linked to it through a record (itself excluded). */
  private links = new Map<string, Set<string>>();
  private ready = false;
  /** Links read for single patients while a full reading is under way: kept in its result too. */
  private duringFullReading: Link[] | undefined;
  /** Changes whose links could not be read yet: not ready until they are. */
  private unread = 0;
  /** Set while the links could not be read (the FHIR server did not answer). */
  error: Error | undefined;

  constructor(private readonly records: PatientRecordSearch) {}

  /** Ready once a first full reading is done, and while no patient's links are left unread. */
  isReady(): boolean {
    return this.ready && this.unread === 0;
  }

  /** The identifiers whose decisions also govern a patient known by these ones (the given ones first). */
  expand(patient: readonly PatientIdentifier[]): PatientIdentifier[] {
    const keys = new Set(patient.map(patientKey));
    const more: PatientIdentifier[] = [];
    for (const identifier of patient) {
      for (const linked of this.links.get(patientKey(identifier)) ?? []) {
        const parsed = keys.has(linked) ? undefined : parsePatientKey(linked);
        if (parsed) {
          keys.add(linked);
          more.push(parsed);
        }
      }
    }
    return more.length === 0 ? [...patient] : [...patient, ...more];
  }

  /** Reads the links of every patient with a decision, and replaces what was known (links undone since are dropped). */
  async refreshAll(decisionKeys: Iterable<string>): Promise<void> {
    this.duringFullReading = [];
    try {
      const links = await this.read([...decisionKeys]);
      const fresh = new Map<string, Set<string>>();
      for (const link of [...links, ...this.duringFullReading]) {
        add(fresh, link);
      }
      this.links = fresh;
      this.ready = true;
    } finally {
      this.duringFullReading = undefined;
    }
  }

  /** Adds the links of these patients (their decisions changed). A link undone is dropped at the next full reading. */
  async refresh(decisionKeys: readonly string[]): Promise<void> {
    const links = await this.read(decisionKeys);
    for (const link of links) {
      add(this.links, link);
    }
    this.duringFullReading?.push(...links);
  }

  /**
   * Follows the decisions: once the view is ready, a full reading (retried until it succeeds; not
   * ready meanwhile), again every `intervalMs` (a tick is skipped while one is under way), and a
   * patient's links at each of their changes (when that fails, retried until they are read, and
   * not ready meanwhile).
   * Returns the function that stops it.
   */
  follow(view: DecisionSource, options: { intervalMs: number; logger: Logger }): () => void {
    const stopping = new AbortController();
    const logger = options.logger.child({ component: 'linked-decisions' });
    const retried = (what: string, work: () => Promise<void>) =>
      retry(work, {
        initialMs: 500,
        maxMs: 30_000,
        isRetryable: () => true,
        signal: stopping.signal,
        onRetry: ({ error }) => {
          this.error = error instanceof Error ? error : new Error(String(error));
          logger.warn({ reason: errorMessage(error) }, `${what} could not be read, will retry`);
        },
      }).then(
        () => {
          this.error = undefined;
        },
        (error: unknown) => logger.warn({ reason: errorMessage(error) }, `${what} not read`),
      );
    let reading: Promise<void> | undefined;
    const readAll = () => {
      reading ??= retried('linked patient records', () => this.refreshAll([...view.patients()].map(([key]) => key))).finally(() => {
        reading = undefined;
      });
      return reading;
    };
    const unsubscribe = view.onChange((key, _state, change) => {
      if (change.replaying) {
        return;
      }
      // Read at once (the change is served on the links known for that one search); when that
      // fails, not ready until they are read: no study of a patient it may link is served meanwhile.
      this.refresh([key]).catch((error: unknown) => {
        this.unread += 1;
        this.error = error instanceof Error ? error : new Error(String(error));
        logger.warn({ reason: errorMessage(error) }, "a patient's linked records could not be read, will retry; not ready meanwhile");
        void retried("a patient's linked records", () => this.refresh([key])).finally(() => {
          this.unread -= 1;
        });
      });
    });
    let timer: NodeJS.Timeout | undefined;
    void view.ready().then(async () => {
      if (stopping.signal.aborted) {
        return;
      }
      await readAll();
      if (!stopping.signal.aborted && options.intervalMs > 0) {
        timer = setInterval(() => void readAll(), options.intervalMs);
        timer.unref();
      }
    });
    return () => {
      stopping.abort();
      unsubscribe();
      clearInterval(timer);
    };
  }

  /** The links the records holding these decisions' identifiers make. */
  private async read(keys: readonly string[]): Promise<Link[]> {
    const asked = new Set(keys);
    const identifiers = keys.flatMap((key) => parsePatientKey(key) ?? []);
    const links: Link[] = [];
    for (const record of identifiers.length > 0 ? await this.records(identifiers) : []) {
      const recordKeys = record.map(patientKey);
      for (const decisionKey of recordKeys.filter((key) => asked.has(key))) {
        for (const other of recordKeys) {
          if (other !== decisionKey) {
            links.push([other, decisionKey]);
          }
        }
      }
    }
    return links;
  }
}

function add(links: Map<string, Set<string>>, [to, decision]: Link): void {
  const set = links.get(to) ?? new Set<string>();
  set.add(decision);
  links.set(to, set);
}

/** The consent rules, with a patient's identifiers widened to those linked to them (LinkedDecisions). */
export function withLinkedDecisions(rules: ConsentRules, linked: Pick<LinkedDecisions, 'expand'>): ConsentRules {
  return {
    mayWithhold: () => rules.mayWithhold(),
    patientSharing: (patient) => rules.patientSharing(linked.expand(patient)),
    recordSharing: (patient) => rules.recordSharing(linked.expand(patient)),
    studySharing: (patient, study) => rules.studySharing(linked.expand(patient), study),
  };
}

/** The records search over the FHIR server (libs/fhir `patientRecordsHolding`: every page, never from a cache). */
export function fhirPatientRecords(fhir: Pick<FhirClient, 'searchAll'>): PatientRecordSearch {
  return async (identifiers) => {
    const records: PatientIdentifier[][] = [];
    for await (const record of patientRecordsHolding(fhir, identifiers)) {
      records.push(identifiersOfPatient(record));
    }
    return records;
  };
}
