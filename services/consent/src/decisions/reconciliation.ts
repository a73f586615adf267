import type { Consent } from '@medplum/fhirtypes';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConsentView, PatientConsentState, Pseudonymizer } from '@imaging-facade/consent';
import { parsePatientKey, patientKey, type ConsentDecision, type PatientIdentifier } from '@imaging-facade/events';
import { errorMessage, type Logger, type ReadinessCheck } from '@imaging-facade/service-kit';
import { decisionOfConsent, patientOfConsent } from './consent-resource';
import type { ConsentStore } from './consent-store';
import { decisionFingerprint, sameDecisions, type DecisionService } from './decisions';

/** What a sweep keeps of a desk Consent FHIR changed: enough to tell whether the topic may lag it. */
export interface ChangedConsent {
  consentId: string;
  /** `decisionFingerprint` of the decision it records. */
  fingerprint: string;
  /** Active: the decision is in force; otherwise it was superseded or revoked. */
  inForce: boolean;
  /** Its `meta.lastUpdated` (the FHIR server's clock). */
  lastUpdated: string | undefined;
}

export function changeOf(consent: Consent): ChangedConsent | undefined {
  const decision = decisionOfConsent(consent);
  return decision && { consentId: decision.consentId, fingerprint: decisionFingerprint(decision), inForce: consent.status === 'active', lastUpdated: consent.meta?.lastUpdated };
}

/** The later of two FHIR instants (either may be missing). */
export function laterInstant(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || b === undefined) {
    return a ?? b;
  }
  return Date.parse(b) > Date.parse(a) ? b : a;
}

/**
 * Where a sweep's search starts (`_lastUpdated=ge…`): `marginMs` before the newest change the
 * previous sweeps, or the start-up reconciliation, saw. Both instants are the FHIR server's, never
 * the desk's clock, so a desk whose clock is off misses nothing; the margin covers the changes
 * that become visible after a later one was seen: a transaction's resources carry the instant it
 * began and are seen once it commits (another desk's, slow), and a FHIR server whose clock was set
 * back. Undefined before any change was seen: every desk Consent.
 */
export function sweepStart(newestSeen: string | undefined, marginMs: number): string | undefined {
  return newestSeen === undefined ? undefined : new Date(Date.parse(newestSeen) - marginMs).toISOString();
}

/**
 * Whether the topic's state of a patient (`known`, as the consent view holds it) may lag these
 * Consents of theirs that FHIR changed since the last sweep: one in force that the state lacks, or
 * holds saying something else; one no longer in force that it still holds; one changed after the
 * state was read from FHIR (after its `fhirOrder.lastUpdated`), or a state without an order. Only
 * those patients are read from FHIR again (`DecisionService.reconcile`, which compares the whole
 * state and its order): a sweep that finds the topic in agreement costs one search.
 */
export function mayLag(changes: readonly ChangedConsent[], known: PatientConsentState | undefined): boolean {
  const held = new Map((known?.decisions ?? []).map((decision: ConsentDecision) => [decision.consentId, decisionFingerprint(decision)]));
  const readAt = known?.fhirOrder?.lastUpdated;
  return changes.some((change) => {
    if (change.inForce ? held.get(change.consentId) !== change.fingerprint : held.has(change.consentId)) {
      return true;
    }
    return known !== undefined && (readAt === undefined || (change.lastUpdated !== undefined && Date.parse(change.lastUpdated) > Date.parse(readAt)));
  });
}

interface Candidate {
  key: string;
  patient: PatientIdentifier;
  known: () => PatientConsentState | undefined;
}

interface Outcome {
  announced: number;
  /** The patients that could not be compared (FHIR or the lock failed): tried again at the next sweep. */
  failed: Candidate[];
  /** False when a stop ended it before every patient was compared. */
  complete: boolean;
}

/** FHIR's state announced where the topic's lags it, patient by patient (the start-up's and every sweep's). */
async function reconcilePatients(candidates: Iterable<Candidate>, decisions: DecisionService, logger: Logger, pseudonymize: Pseudonymizer, stopping: () => boolean): Promise<Outcome> {
  const outcome: Outcome = { announced: 0, failed: [], complete: true };
  for (const candidate of candidates) {
    if (stopping()) {
      return { ...outcome, complete: false };
    }
    try {
      if (await decisions.reconcile(candidate.patient, candidate.known)) {
        outcome.announced++;
        logger.info({ patient: pseudonymize(candidate.key) }, 'consent state re-announced from FHIR');
      }
    } catch (error) {
      outcome.failed.push(candidate);
      logger.error({ patient: pseudonymize(candidate.key), reason: errorMessage(error) }, 'could not reconcile a consent state');
    }
  }
  return outcome;
}

/**
 * Start-up reconciliation: every patient with a desk Consent in force in FHIR, and every patient the
 * topic still shows decisions for, gets FHIR's state announced where the topic disagrees. This heals
 * a decision stored in FHIR whose announcement was lost (a crash between the two writes). `newest`:
 * the newest change of a Consent in force it read (where the periodic sweeps begin).
 */
export async function reconcileWithTopic(
  store: ConsentStore,
  decisions: DecisionService,
  topicStates: Iterable<[string, PatientConsentState]>,
  logger: Logger,
  pseudonymize: Pseudonymizer,
  stopping: () => boolean = () => false,
): Promise<Outcome & { checked: number; newest: string | undefined }> {
  const fromFhir = new Map<string, { patient: PatientIdentifier; decisions: ConsentDecision[] }>();
  let newest: string | undefined;
  for await (const consent of store.allActive()) {
    newest = laterInstant(newest, consent.meta?.lastUpdated);
    const patient = patientOfConsent(consent);
    const decision = decisionOfConsent(consent);
    if (!patient) continue;
    const entry = fromFhir.get(patientKey(patient)) ?? { patient, decisions: [] };
    if (decision) entry.decisions.push(decision);
    fromFhir.set(patientKey(patient), entry);
  }
  const onTopic = new Map(topicStates);
  const keys = new Set([...fromFhir.keys(), ...onTopic.keys()]);
  const candidates: Candidate[] = [];
  for (const key of keys) {
    const inFhir = fromFhir.get(key);
    const known = onTopic.get(key);
    const patient = inFhir?.patient ?? known?.patient ?? parsePatientKey(key);
    if (!patient || sameDecisions({ patient, decisions: inFhir?.decisions ?? [], updatedAt: '' }, known)) continue;
    candidates.push({ key, patient, known: () => known });
  }
  return { ...(await reconcilePatients(candidates, decisions, logger, pseudonymize, stopping)), checked: keys.size, newest };
}

export interface ReconciliationOptions {
  store: ConsentStore;
  decisions: DecisionService;
  /** The desk's own view of the decisions topic. */
  view: Pick<ConsentView, 'patients' | 'stateOf'>;
  logger: Logger;
  pseudonymize: Pseudonymizer;
  metrics: Registry;
  /** CONSENT_RECONCILE_MARGIN_MS (`sweepStart`). */
  marginMs: number;
}

type Kind = 'start-up' | 'sweep';

/**
 * Failed sweeps in a row that fail /readyz: one alone (a FHIR server restarting at that moment) is
 * counted in the metrics only, since the desk records decisions as well meanwhile; a failure that
 * lasts an interval shows.
 */
export const FAILED_SWEEPS_SHOWN = 2;

/**
 * Keeps the decisions topic in agreement with FHIR, the source of truth, when a desk died between
 * its FHIR transaction and its announcement: once at start, every patient (`startUp`); then, every
 * CONSENT_RECONCILE_INTERVAL_MS, the patients whose desk Consents FHIR changed since the last sweep
 * (`sweep`), so that the surviving desks heal what a dead one left within the interval. Every desk
 * does it; several at once announce the same state, which the consent views take as one (the same
 * `fhirOrder`). A sweep whose search fails is run again at the next interval from where the last
 * one that succeeded began; a patient that could not be compared is compared again at every sweep
 * until it is. The metrics count every failure; `/readyz` (`decisions-reconciled`) fails until the
 * start-up reconciliation has run, and from the FAILED_SWEEPS_SHOWN-th failed sweep in a row until
 * one succeeds.
 */
export class Reconciliation {
  private newestSeen: string | undefined;
  private reconciledAtStart = false;
  /** Why the last start-up or sweep failed (its search, or patients that could not be compared), until one succeeds. */
  private failure: string | undefined;
  private failedInARow = 0;
  private readonly retrying = new Map<string, PatientIdentifier>();
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private intervalMs = 0;
  private readonly runs: Counter<'kind' | 'outcome'>;
  private readonly reannounced: Counter<'kind'>;
  private readonly lastSuccess: Gauge;

  constructor(private readonly options: ReconciliationOptions) {
    this.runs = new Counter({
      name: 'consent_reconciliations_total',
      help: 'Comparisons of the decisions topic with FHIR, by kind (start-up, sweep) and outcome (ok; failed: its search failed, or a patient could not be compared)',
      labelNames: ['kind', 'outcome'] as const,
      registers: [options.metrics],
    });
    this.reannounced = new Counter({
      name: 'consent_states_reannounced_total',
      help: 'Patients whose state in FHIR the decisions topic lacked or held older, announced by a reconciliation, by kind',
      labelNames: ['kind'] as const,
      registers: [options.metrics],
    });
    this.lastSuccess = new Gauge({
      name: 'consent_reconciliation_last_success_seconds',
      help: 'When the last reconciliation with FHIR that compared every patient it had to ended (Unix time)',
      registers: [options.metrics],
    });
    const retrying = this.retrying;
    new Gauge({
      name: 'consent_reconciliation_patients_failing',
      help: 'Patients a reconciliation could not compare with FHIR, compared again at every sweep',
      registers: [options.metrics],
      collect() {
        this.set(retrying.size);
      },
    });
  }

  /** Whether the start-up reconciliation has read FHIR's Consents in force and compared the patients. */
  get startedUp(): boolean {
    return this.reconciledAtStart;
  }

  /** Fails until the start-up reconciliation has run, and while sweeps fail (FAILED_SWEEPS_SHOWN in a row). */
  readonly readiness: ReadinessCheck = {
    name: 'decisions-reconciled',
    probe: async () => {
      if (!this.reconciledAtStart) {
        throw new Error(`the decisions topic is not yet reconciled with FHIR since start${this.failure ? ` (${this.failure})` : ''}: retrying`);
      }
      if (this.failedInARow >= FAILED_SWEEPS_SHOWN) {
        throw new Error(`the last ${this.failedInARow} reconciliations with FHIR failed (${this.failure}): run again every ${this.intervalMs} ms`);
      }
    },
  };

  /** Every patient of FHIR and of the topic compared; resolves false when it must be run again. */
  async startUp(): Promise<boolean> {
    const { store, decisions, view, logger, pseudonymize } = this.options;
    await this.run('start-up', async () => {
      const outcome = await reconcileWithTopic(store, decisions, view.patients(), logger, pseudonymize, () => this.stopping);
      if (outcome.complete) {
        this.newestSeen = laterInstant(this.newestSeen, outcome.newest);
        this.reconciledAtStart = true;
        logger.info({ checked: outcome.checked, announced: outcome.announced, failed: outcome.failed.length }, 'consent states reconciled with FHIR');
      }
      return outcome;
    });
    return this.reconciledAtStart;
  }

  /**
   * The patients whose desk Consents FHIR changed since the last sweep (less the margin) and whose
   * state on the topic may lag them (`mayLag`), and those that could not be compared before, compared
   * and announced where the topic's lags FHIR's.
   */
  async sweep(): Promise<void> {
    if (!this.reconciledAtStart) {
      // The start-up reconciliation, retried meanwhile, compares every patient.
      return;
    }
    const { store, decisions, view, logger, pseudonymize, marginMs } = this.options;
    await this.run('sweep', async () => {
      const since = sweepStart(this.newestSeen, marginMs);
      let newest = this.newestSeen;
      const changed = new Map<string, { patient: PatientIdentifier; changes: ChangedConsent[] }>();
      for await (const consent of store.changedSince(since)) {
        newest = laterInstant(newest, consent.meta?.lastUpdated);
        const patient = patientOfConsent(consent);
        const change = changeOf(consent);
        if (!patient || !change) continue;
        const key = patientKey(patient);
        const entry = changed.get(key) ?? { patient, changes: [] };
        entry.changes.push(change);
        changed.set(key, entry);
      }
      const lagging = [...changed].filter(([key, { changes }]) => !this.retrying.has(key) && mayLag(changes, view.stateOf(key)));
      const candidates = [...this.retrying, ...lagging.map(([key, { patient }]) => [key, patient] as const)].map(([key, patient]) => ({ key, patient, known: () => view.stateOf(key) }));
      const outcome = await reconcilePatients(candidates, decisions, logger, pseudonymize, () => this.stopping);
      if (outcome.complete) {
        // The next sweep begins from here: what failed is in `retrying`.
        this.newestSeen = newest;
      }
      logger.debug({ since, changed: changed.size, compared: candidates.length, announced: outcome.announced, failed: outcome.failed.length }, 'consent reconciliation sweep');
      return outcome;
    });
  }

  /**
   * Sweeps every `intervalMs`, each once the previous one has ended. The first waits a random part of
   * the interval, so that desks started together (a deployment) do not sweep in step, each
   * announcing the same lost state.
   */
  start(intervalMs: number): void {
    this.intervalMs = intervalMs;
    const next = (delayMs: number) => {
      this.timer = setTimeout(() => {
        this.running = this.sweep().finally(() => {
          if (!this.stopping) next(intervalMs);
        });
      }, delayMs);
    };
    next(Math.ceil(Math.random() * intervalMs));
  }

  /** No sweep begins from now on; the one under way stops at its next patient, and is waited for. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Runs one reconciliation, counts it, keeps what failed for /readyz and the next sweep; never rejects. */
  private async run(kind: Kind, body: () => Promise<Outcome>): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await body();
    } catch (error) {
      this.failed(kind, errorMessage(error));
      return;
    }
    this.reannounced.inc({ kind }, outcome.announced);
    if (!outcome.complete) {
      return;
    }
    // Every patient that failed before was compared again: it failed again, or is done.
    this.retrying.clear();
    for (const { key, patient } of outcome.failed) this.retrying.set(key, patient);
    if (this.retrying.size > 0) {
      this.failed(kind, `${this.retrying.size} patient(s) could not be compared with FHIR`);
      return;
    }
    this.runs.inc({ kind, outcome: 'ok' });
    this.lastSuccess.setToCurrentTime();
    this.failure = undefined;
    this.failedInARow = 0;
  }

  private failed(kind: Kind, reason: string): void {
    this.runs.inc({ kind, outcome: 'failed' });
    this.failure = reason;
    this.failedInARow++;
    this.options.logger.error({ kind, reason }, kind === 'start-up' ? 'reconciliation with FHIR failed, will retry' : 'the reconciliation sweep with FHIR failed, will run again');
  }
}
