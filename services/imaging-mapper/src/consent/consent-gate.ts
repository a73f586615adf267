import { Counter, type Registry } from 'prom-client';
import {
  decideSharingOver,
  decisionsFingerprint,
  patientKeyOfStudy,
  refusesPatientWide,
  summarizeStudy,
  type ConsentPolicy,
  type Pseudonymizer,
  type ReconciledPatients,
  type StudySummary,
} from '@imaging-facade/consent';
import type { StudyCompletedV1Data } from '@imaging-facade/events';
import { isRetryableFhirError } from '@imaging-facade/fhir';
import { errorMessage, KeyedLock, retry, type Logger } from '@imaging-facade/service-kit';
import type { MappingResult } from '../pipeline';
import { patientsWithChangedDecisions, type ConsentStates } from './sweep-plan';
import type { WithdrawalResult } from './withdrawal';
import type { LabelChanges, PatientLabels } from './withheld-label';
import type { LinkedPatients } from './linked-patients';
import { recordChanges } from './record-check';

/** What started a decision: a study event, a consent decision that changed, the sweep after a start, the periodic label check. */
export type GateTrigger = 'study' | 'decision' | 'sweep' | 'check';

/** Whom a sweep went through: those whose decisions changed since they were applied, or everyone (the policy changed). */
export type SweepScope = 'changed decisions' | 'every patient';

/**
 * What became of a study: `shared` (published), `withheld` (not published, and nothing of it was in
 * the index), `withdrawn` (not published, and what was in the index was removed).
 */
export type GateOutcome = 'shared' | 'withheld' | 'withdrawn';

/** The consent view as the gate reads it (ConsentView). */
export interface ConsentSource extends ConsentStates {
  readonly policy: ConsentPolicy;
  /** Set when the view stopped following the decisions topic for good: it may miss refusals. */
  readonly error?: Error | undefined;
}

/**
 * The consent view stopped following its topic: no study is decided on what it holds (fail
 * closed). Passing: retried until the service is restarted, never dead-lettered.
 */
export class ConsentUnavailableError extends Error {
  constructor(cause: Error) {
    super(`the consent view is not following the decisions topic: ${cause.message}`, { cause });
    this.name = 'ConsentUnavailableError';
  }
}

/** The gate's retry rule: a FHIR failure that may pass (isRetryableFhirError), or the consent view unavailable. */
export function isRetryableGateError(error: unknown): boolean {
  return error instanceof ConsentUnavailableError || isRetryableFhirError(error);
}

/** The node's studies as the gate reads them (StudyCatalog with keepSnapshots). */
export interface StudySource {
  apply(snapshot: StudyCompletedV1Data): void;
  study(studyInstanceUid: string): { summary: StudySummary } | undefined;
  studiesOf(patientKey: string): StudySummary[];
  snapshotOf(studyInstanceUid: string): StudyCompletedV1Data | undefined;
  patientKeys(): string[];
}

/** The two things the gate can do to the index. */
export interface IndexWriter {
  publish(snapshot: StudyCompletedV1Data): Promise<MappingResult>;
  /** `patientKey`: the study's patient (`system|value`), when it has a PatientID. */
  withdraw(studyInstanceUid: string, patientKey?: string): Promise<WithdrawalResult>;
}

export type GateResult =
  | { outcome: 'shared'; mapping: MappingResult }
  | { outcome: 'withheld' | 'withdrawn'; withdrawal: WithdrawalResult };

export interface ConsentGateOptions {
  consent: ConsentSource;
  catalog: StudySource;
  index: IndexWriter;
  /** The withheld label of the patients' Patient resources, kept as their patient-wide decisions say. */
  labels: PatientLabels;
  /** The other identifiers a patient is known by in the index, whose decisions count too. */
  links: LinkedPatients;
  /** Which patients' decisions the index reflects, kept across starts: the sweep applies only what changed. */
  reconciled: ReconciledPatients;
  defaultPatientIdSystem: string;
  logger: Logger;
  /** Names a patient in the log lines, next to the study (the node's log pseudonym key): never the identifier. */
  pseudonymize: Pseudonymizer;
  metrics: Registry;
  retry?: { initialMs: number; maxMs: number };
}

/**
 * Consent is checked where studies are published. The rule (libs/consent README): a study's
 * decision is read inside a per-patient critical section immediately before the FHIR write, and a
 * decision change of that patient is applied to each of their studies in the same critical
 * section. The view changes its state before it calls the gate, so a publication under way when a
 * refusal arrives finishes first and is withdrawn right after; a publication that starts after the
 * refusal reads it and writes nothing. Nothing can write a study after its withdrawal without
 * first reading the refusal.
 */
export class ConsentGate {
  private readonly lock = new KeyedLock();
  /** Changes of one patient's decisions, applied one after another (reconcile). */
  private readonly reconciling = new KeyedLock();
  private readonly stopping = new AbortController();
  private readonly pending = new Set<Promise<unknown>>();
  /** Patients the decisions topic spoke of while it was replayed at start (revoked ones included). */
  private readonly replayed = new Set<string>();
  private checking = false;
  private readonly outcomes: Counter<'trigger' | 'outcome'>;
  private readonly logger: Logger;

  constructor(private readonly options: ConsentGateOptions) {
    this.logger = options.logger.child({ component: 'consent-gate' });
    this.outcomes = new Counter({
      name: 'facade_mapper_consent_outcomes_total',
      help: 'Studies decided by the consent gate, by trigger (study, decision, sweep, check) and outcome (shared, withheld, withdrawn, failed)',
      labelNames: ['trigger', 'outcome'] as const,
      registers: [options.metrics],
    });
  }

  /**
   * The ConsentView listener (register it before the view starts). While the topic is replayed the
   * patients are only noted, for the sweep; afterwards each change reconciles the patient's studies.
   */
  readonly onConsentChange = (patientKey: string, _state: unknown, change: { replaying: boolean }): Promise<void> | void => {
    if (change.replaying) {
      this.replayed.add(patientKey);
      return;
    }
    return this.track(this.reconcile(patientKey, 'decision')).then(() => undefined);
  };

  /**
   * A study event: catalogued first (so that a decision arriving next finds it), then decided and
   * published or withdrawn, under the patient's lock. Failures are thrown to the consumer, which
   * retries or dead-letters them.
   */
  async onStudy(arrived: StudyCompletedV1Data): Promise<GateResult> {
    this.options.catalog.apply(arrived);
    const snapshot = this.newestOf(arrived);
    const patientKey = patientKeyOfStudy(snapshot, this.options.defaultPatientIdSystem);
    return this.track(this.lock.run(lockKey(patientKey, snapshot.studyInstanceUid), () => this.apply('study', patientKey, summarizeStudy(snapshot), () => snapshot)));
  }

  /**
   * The study as its newest snapshot has it. One older than the catalogue's (a dead letter sent
   * again, another node's late copy) is not acted on: decided under the patient it named then, it
   * put back under that patient a study moved to another and withdrawn on their refusal, and it
   * wrote the dose of a report since corrected.
   */
  private newestOf(arrived: StudyCompletedV1Data): StudyCompletedV1Data {
    // The summary says whether the catalogue holds a newer one; only then is its snapshot unpacked.
    const held = this.options.catalog.study(arrived.studyInstanceUid)?.summary.lastReceivedAt;
    const newer = held !== undefined && Date.parse(held) > Date.parse(arrived.lastReceivedAt) ? this.options.catalog.snapshotOf(arrived.studyInstanceUid) : undefined;
    return newer ?? arrived;
  }

  /**
   * After a start, once the view and the catalogue have caught up: a decision recorded, changed or
   * revoked while the mapper was down is applied to every study it concerns. Only the patients
   * whose decisions differ from those last applied are swept (patientsWithChangedDecisions). Every
   * patient of the decisions topic, and of the catalogue when the policy changed, is swept when the
   * policy differs from the last full sweep's; before the first, as if the policy were unchanged
   * (under opt-in: every patient of the catalogue, under opt-out: those with a decision).
   */
  async sweep(): Promise<{ patients: number; labelled?: number; scope: SweepScope; durationMs: number }> {
    const started = Date.now();
    const { consent, reconciled, catalog } = this.options;
    const policyBefore = reconciled.policy();
    const scope: SweepScope = policyBefore === consent.policy ? 'changed decisions' : 'every patient';
    const keys = scope === 'changed decisions' ? await patientsWithChangedDecisions(consent, reconciled) : new Set(this.replayed);
    if (scope === 'every patient') {
      for (const [key] of consent.patients()) {
        keys.add(key);
      }
      for (const row of reconciled.rows()) {
        keys.add(row.patientKey);
      }
      // A changed policy changes the decision of every study without one (opt-in withholds them, opt-out shares them).
      if (consent.policy === 'opt-in' || policyBefore !== undefined) {
        for (const key of catalog.patientKeys()) {
          keys.add(key);
        }
      }
    }
    this.replayed.clear();
    for (const key of keys) {
      if (this.stopping.signal.aborted) {
        break;
      }
      await this.track(this.reconcile(key, 'sweep'));
    }
    if (scope === 'every patient' && !this.stopping.signal.aborted) {
      // A patient who failed is still marked, and swept at the next start.
      reconciled.setPolicy(consent.policy);
    }
    const labelled = reconciled.labelled() ? 0 : await this.labelEveryRefuser(keys);
    const result = { patients: keys.size, ...(labelled > 0 ? { labelled } : {}), scope, durationMs: Date.now() - started };
    this.logger.info(result, 'consent sweep done');
    return result;
  }

  /**
   * The first start that labels (ReconciledPatients.labelled): every refuser's record not swept
   * above is labelled once, label only (their studies were decided before). Once every label is
   * set the record says so; a label that failed leaves it to the next start. Returns how many
   * patients were labelled this way.
   */
  private async labelEveryRefuser(swept: ReadonlySet<string>): Promise<number> {
    let count = 0;
    let failed = false;
    for (const [key, state] of this.options.consent.patients()) {
      if (this.stopping.signal.aborted) {
        return count;
      }
      if (!swept.has(key) && refusesPatientWide(state)) {
        count += 1;
        failed = !(await this.track(this.relabel(key, 'sweep'))) || failed;
      }
    }
    if (!failed && !this.stopping.signal.aborted) {
      this.options.reconciled.setLabelled();
    }
    return count;
  }

  /**
   * Looks at the index's Patient records of every patient with a decision, and applies a patient's
   * decisions again (their studies and their label) when what the records say changed since they
   * were applied: another identifier linked to them, or one unlinked (by a master patient index:
   * the studies filed under it are decided with these decisions now, or no longer), or a record
   * whose withheld label is not what the decisions say (one written since by another writer). Run
   * periodically (MAPPER_RECORD_CHECK_INTERVAL_MS), one search per 50 patients or so, every page
   * followed; a check under way is not started twice.
   */
  async checkRecords(): Promise<{ patients: number; reapplied: number }> {
    if (this.checking) {
      return { patients: 0, reapplied: 0 };
    }
    this.checking = true;
    try {
      const { consent, reconciled, links } = this.options;
      const decided = new Set<string>();
      for (const [key] of consent.patients()) {
        decided.add(key);
      }
      const records = decided.size > 0 ? await links.recordsHolding([...decided]) : [];
      let reapplied = 0;
      for (const { patientKey, linked, unlinked } of recordChanges(decided, records, (key) => consent.stateOf(key), (key) => reconciled.linksOf(key))) {
        if (this.stopping.signal.aborted) {
          break;
        }
        reapplied += 1;
        let applied = await this.track(this.reconcile(patientKey, 'check'));
        // An identifier unlinked since: its studies are decided without this patient's decisions.
        for (const other of unlinked) {
          applied = (await this.track(this.reconcile(other, 'check'))) && applied;
        }
        if (applied) {
          reconciled.setLinks(patientKey, linked);
        }
      }
      if (reapplied > 0) {
        this.logger.info({ patients: decided.size, reapplied }, 'patient records linked, unlinked or labelled otherwise since: decisions applied again');
      }
      return { patients: decided.size, reapplied };
    } finally {
      this.checking = false;
    }
  }

  /** Stops retrying and waits for the work under way. */
  async stop(): Promise<void> {
    this.stopping.abort();
    while (this.pending.size > 0) {
      await Promise.allSettled([...this.pending]);
    }
  }

  /**
   * Decides again for every study of the patient: withdraws the withheld ones, republishes the
   * shared ones from the catalogue's snapshot. Each attempt takes the patient's lock and reads the
   * decision then, so the last decision is the one applied whatever the order of attempts; between
   * attempts (a passing failure, retried with backoff) the lock is free, and the patient's study
   * events are not held up for longer than one FHIR call. A permanent failure is logged and counted,
   * and the next study is handled; the patient stays marked in the record, and is swept at the next
   * start. The studies are those of every identifier linked to the patient's (LinkedPatients): a
   * decision under a regional identifier reaches the studies filed under the hospital's. The label
   * of the patient's record is set as the record's rule says (libs/consent withholdsRecord), with
   * the same retries: before the studies for a patient-wide refusal (a record withheld is left out
   * of searches at once), after them otherwise.
   * Resolves true when every study and the label were applied. Throws only when the
   * record cannot be written: its mark, before any study is touched, or its row at the end, when the
   * mark stays. One change of a patient at a time: their row then says what the last one applied.
   */
  private reconcile(patientKey: string, trigger: Exclude<GateTrigger, 'study'>): Promise<boolean> {
    return this.reconciling.run(patientKey, () => this.reconcilePatient(patientKey, trigger));
  }

  private async reconcilePatient(patientKey: string, trigger: Exclude<GateTrigger, 'study'>): Promise<boolean> {
    // Read before any study: each study below is decided on these decisions or later ones.
    const state = this.options.consent.stateOf(patientKey);
    const fingerprint = decisionsFingerprint(state);
    const patientLogger = this.logger.child({ patient: this.options.pseudonymize(patientKey), trigger });
    let keys: string[];
    try {
      keys = await this.retried(patientLogger, () => this.options.links.keysOf(patientKey));
    } catch (error) {
      if (!isRetryableGateError(error)) {
        patientLogger.error({ reason: errorMessage(error) }, "the patient's other identifiers could not be read");
      }
      return false;
    }
    // Read now, when the change is known: a study catalogued later is decided by its own event.
    const studies = keys.flatMap((key) => this.options.catalog.studiesOf(key).map((study) => ({ key, study })));
    if (studies.length > 0) {
      // Durable before the index is touched; a patient without a study here costs no fsync.
      this.options.reconciled.begin(patientKey);
    }
    // One look-up per identifier for all its studies (a failed one is asked again).
    const looked = new Map<string, Promise<string[]>>([[patientKey, Promise.resolve(keys)]]);
    const linkedOnce = (key: string): Promise<string[]> => {
      let found = looked.get(key);
      if (!found) {
        found = this.options.links.keysOf(key);
        found.catch(() => looked.delete(key));
        looked.set(key, found);
      }
      return found;
    };
    const refusal = refusesPatientWide(state);
    let labelled = refusal ? await this.relabel(patientKey, trigger) : true;
    let everyStudy = true;
    for (const { key, study } of studies) {
      const logger = this.logger.child({ studyInstanceUid: study.studyInstanceUid, patient: this.options.pseudonymize(key), trigger });
      if (this.stopping.signal.aborted) {
        // Left marked: swept at the next start.
        return false;
      }
      try {
        await this.retried(logger, () =>
          this.lock.run(key, async () => {
            // Moved to another patient since it was read (a Patient ID corrected at the source), or
            // gone: its own event decides it, under its own patient's lock, on that patient's decisions.
            if (!this.options.catalog.studiesOf(key).some((item) => item.studyInstanceUid === study.studyInstanceUid)) {
              return undefined;
            }
            return this.apply(trigger, key, study, () => this.options.catalog.snapshotOf(study.studyInstanceUid), linkedOnce);
          }),
        );
      } catch (error) {
        everyStudy = false;
        if (!isRetryableGateError(error)) {
          this.count(trigger, 'failed');
          logger.error({ reason: errorMessage(error) }, 'consent decision could not be applied to the study');
        }
      }
    }
    if (!refusal) {
      labelled = await this.relabel(patientKey, trigger);
    }
    if (everyStudy && labelled) {
      this.options.reconciled.done(patientKey, fingerprint);
    }
    return everyStudy && labelled;
  }

  /**
   * The patient's record labelled as the record's rule says (libs/consent withholdsRecord), under the patient's lock
   * (the decision is read then, so the last change is the one a label shows). False when it failed:
   * the patient is then swept again at the next start.
   */
  private async relabel(patientKey: string, trigger: Exclude<GateTrigger, 'study'>): Promise<boolean> {
    const logger = this.logger.child({ patient: this.options.pseudonymize(patientKey), trigger });
    if (this.stopping.signal.aborted) {
      return false;
    }
    try {
      const changes = await this.retried(logger, () => this.lock.run(patientKey, () => this.options.labels.sync(patientKey)));
      logLabelChanges(logger, changes);
      return true;
    } catch (error) {
      if (!isRetryableGateError(error)) {
        logger.error({ reason: errorMessage(error) }, "the withheld label of the patient's record could not be set");
      }
      return false;
    }
  }

  /**
   * A label that fails after a publication fails the study event (retried, or dead-lettered), and
   * the patient is marked first: whatever becomes of the event, the next start sweeps them.
   */
  private async labelAfterPublication(patientKey: string): Promise<LabelChanges> {
    try {
      return await this.options.labels.sync(patientKey);
    } catch (error) {
      this.options.reconciled.begin(patientKey);
      throw error;
    }
  }

  /** Passing failures retried with backoff until the gate stops. */
  private retried<T>(logger: Logger, work: () => Promise<T>): Promise<T> {
    return retry(work, {
      ...(this.options.retry ?? { initialMs: 500, maxMs: 30_000 }),
      isRetryable: isRetryableGateError,
      signal: this.stopping.signal,
      onRetry: ({ attempt, delayMs, error }) =>
        logger.warn({ attempt, delayMs, reason: errorMessage(error) }, 'applying a consent decision failed, will retry'),
    });
  }

  /** The decision for one study, read now, and what it asks of the index. Call it under the lock. */
  private async apply(
    trigger: GateTrigger,
    patientKey: string | undefined,
    study: StudySummary,
    snapshot: () => StudyCompletedV1Data | undefined,
    linkedKeys?: (patientKey: string) => Promise<string[]>,
  ): Promise<GateResult> {
    if (this.options.consent.error) {
      throw new ConsentUnavailableError(this.options.consent.error);
    }
    // Over every identifier linked to the patient's: a refusal kept under any of them counts.
    const keys = patientKey === undefined ? [] : await (linkedKeys ?? this.options.links.keysOf)(patientKey);
    const states = keys.map((key) => this.options.consent.stateOf(key));
    const decision = decideSharingOver(this.options.consent.policy, states, study);
    // Keyed by the study and a pseudonym of the patient: never the patient's identifier.
    const logger = this.logger.child({ studyInstanceUid: study.studyInstanceUid, trigger, ...(patientKey ? { patient: this.options.pseudonymize(patientKey) } : {}) });
    if (decision === 'share') {
      const data = snapshot();
      if (!data) {
        // The catalogue keeps every snapshot it reads; without one there is nothing to publish.
        throw new Error('no snapshot of the study in the catalogue');
      }
      const mapping = await this.options.index.publish(data);
      if (patientKey !== undefined && states.some(refusesPatientWide)) {
        // Shared by a decision about this study, against a patient-wide refusal: the record the
        // publication may just have created gets the label the record's rule gives it (none when
        // this agreement reaches it, libs/consent withholdsRecord).
        logLabelChanges(logger, await this.labelAfterPublication(patientKey));
      }
      if (trigger !== 'study' && mapping.outcome !== 'unchanged') {
        logger.info({ outcome: mapping.outcome }, 'study published again (consent)');
      }
      this.count(trigger, 'shared');
      return { outcome: 'shared', mapping };
    }
    const withdrawal = await this.options.index.withdraw(study.studyInstanceUid, patientKey);
    const outcome = withdrawal.deletedStudies.length > 0 ? 'withdrawn' : 'withheld';
    // A study event is logged by the consumer, with its topic, partition and offset; the sweep
    // says only what it removed (it decides every refused study again at each start).
    if (trigger === 'decision' || (trigger === 'sweep' && outcome === 'withdrawn')) {
      logger.info({ outcome, deletedStudies: withdrawal.deletedStudies.length }, 'study withheld from the index (consent)');
    }
    this.count(trigger, outcome);
    return { outcome, withdrawal };
  }

  private count(trigger: GateTrigger, outcome: GateOutcome | 'failed'): void {
    this.outcomes.inc({ trigger, outcome });
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    const done = () => this.pending.delete(work);
    work.then(done, done);
    return work;
  }
}

function logLabelChanges(logger: Logger, changes: LabelChanges): void {
  if (changes.labelled + changes.unlabelled > 0) {
    logger.info(changes, "withheld label of the patient's record changed (consent)");
  }
}

/** A study without PatientID belongs to no patient: it is locked on its own. */
function lockKey(patientKey: string | undefined, studyInstanceUid: string): string {
  return patientKey ?? `study:${studyInstanceUid}`;
}

