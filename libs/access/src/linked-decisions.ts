import { identifiersOfPatient } from '@imaging-facade/consent';
import { parsePatientKey, patientKey, type PatientIdentifier } from '@imaging-facade/events';
import { identifierToken, type Upstream } from '@imaging-facade/fhir';
import { badGateway, OutcomeError } from '@imaging-facade/fhir-outcomes';
import { errorMessage, retry, type Logger } from '@imaging-facade/service-kit';
import type { ConsentRules } from './consent';

/** What LinkedDecisions follows of libs/consent's ConsentView. */
export interface DecisionSource {
  ready(): Promise<void>;
  patients(): Iterable<[string, unknown]>;
  onChange(listener: (patientKey: string, state: unknown, change: { replaying: boolean }) => void): () => void;
}

/** Decision keys asked about in one search (an OR of identifiers). */
const BATCH = 50;

/** The index's Patient records holding any of these identifiers, as their identifier lists. */
export type PatientRecordSearch = (identifiers: readonly PatientIdentifier[]) => Promise<PatientIdentifier[][]>;

/**
 * Which decisions govern a patient through the index's Patient records. A face that knows a study
 * by its own patient identifier only (DICOMweb's index: the hospital's ID from the DICOM header)
 * would miss a refusal the desk recorded under another identifier of the same patient (a regional
 * one), which the gateway honours because it reads the whole Patient record. So, from the side of
 * the decisions, which are few: for every patient with a decision, the records holding their
 * identifier are read, and each other identifier of those records is linked to that patient.
 * `linkedTo` is then a synchronous look-up. Read in full by `refreshAll` (at start, then
 * periodically: a record linked since by a master patient index), and for one patient at each of
 * their decision changes.
 */
export class LinkedDecisions {
  /** Identifier key → the decision keys linked to it through a record (itself excluded). */
  private links = new Map<string, Set<string>>();
  private ready = false;
  /** Set while the links could not be read (the FHIR server did not answer): not ready until they are. */
  error: Error | undefined;

  constructor(private readonly records: PatientRecordSearch) {}

  /**
   * Follows the decisions: once the view is ready, a full reading (retried until it succeeds; not
   * ready meanwhile), again every `intervalMs`, and a patient's links at each of their changes.
   * Returns the function that stops it.
   */
  follow(view: DecisionSource, options: { intervalMs: number; logger: Logger }): () => void {
    const stopping = new AbortController();
    const logger = options.logger.child({ component: 'linked-decisions' });
    const readAll = () =>
      retry(() => this.refreshAll([...view.patients()].map(([key]) => key)), {
        initialMs: 500,
        maxMs: 30_000,
        isRetryable: () => true,
        signal: stopping.signal,
        onRetry: ({ error }) => {
          this.error = error instanceof Error ? error : new Error(String(error));
          logger.warn({ reason: errorMessage(error) }, 'linked patient records could not be read, will retry');
        },
      }).then(
        () => (this.error = undefined),
        (error: unknown) => logger.warn({ reason: errorMessage(error) }, 'linked patient records not read'),
      );
    const unsubscribe = view.onChange((key, _state, change) => {
      if (!change.replaying) {
        this.refresh([key]).catch((error: unknown) => logger.warn({ reason: errorMessage(error) }, "a patient's linked records could not be read"));
      }
    });
    let timer: NodeJS.Timeout | undefined;
    void view.ready().then(async () => {
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

  /** Ready once a first full reading is done. */
  isReady(): boolean {
    return this.ready;
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

  /** Reads the links of every patient with a decision, and replaces what was known. */
  async refreshAll(decisionKeys: Iterable<string>): Promise<void> {
    const links = new Map<string, Set<string>>();
    await this.read([...decisionKeys], links);
    this.links = links;
    this.ready = true;
  }

  /** Adds the links of these patients (their decisions changed). Stale links only add identifiers to look at. */
  async refresh(decisionKeys: readonly string[]): Promise<void> {
    await this.read(decisionKeys, this.links);
  }

  private async read(keys: readonly string[], into: Map<string, Set<string>>): Promise<void> {
    for (let start = 0; start < keys.length; start += BATCH) {
      const batch = keys.slice(start, start + BATCH);
      const asked = new Set(batch);
      const identifiers = batch.flatMap((key) => parsePatientKey(key) ?? []);
      for (const record of identifiers.length > 0 ? await this.records(identifiers) : []) {
        const recordKeys = record.map(patientKey);
        for (const decisionKey of recordKeys.filter((key) => asked.has(key))) {
          for (const other of recordKeys) {
            if (other !== decisionKey) {
              const set = into.get(other) ?? new Set<string>();
              set.add(decisionKey);
              into.set(other, set);
            }
          }
        }
      }
    }
  }
}

/** The consent rules, with a patient's identifiers widened to those linked to them (LinkedDecisions). */
export function withLinkedDecisions(rules: ConsentRules, linked: Pick<LinkedDecisions, 'expand'>): ConsentRules {
  return {
    mayWithhold: () => rules.mayWithhold(),
    patientSharing: (patient) => rules.patientSharing(linked.expand(patient)),
    studySharing: (patient, study) => rules.studySharing(linked.expand(patient), study),
  };
}

/** The records search over the FHIR server: only their identifiers, never from a cache. */
export function upstreamPatientRecords(upstream: Upstream): PatientRecordSearch {
  return async (identifiers) => {
    const query = new URLSearchParams({ identifier: identifiers.map(identifierToken).join(','), _elements: 'identifier', _count: '1000' });
    const response = await upstream.request('GET', `Patient?${query.toString()}`, { headers: { 'cache-control': 'no-store' } });
    if (response.status !== 200) {
      throw new OutcomeError(badGateway(`The FHIR server answered HTTP ${response.status} to a search of linked patient records`));
    }
    const bundle = response.body as { entry?: Array<{ resource?: object }> };
    return (bundle.entry ?? []).flatMap((entry) => (entry.resource ? [identifiersOfPatient(entry.resource)] : []));
  };
}
