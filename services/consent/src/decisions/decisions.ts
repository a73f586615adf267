import type { Consent } from '@medplum/fhirtypes';
import { Counter, Gauge, type Registry } from 'prom-client';
import { patientKey, type ConsentDecision, type ConsentStateOrder, type ConsentStudy, type PatientIdentifier } from '@imaging-facade/events';
import { compareStateOrder, KeyedLock, stateOrderOf, type PatientConsentState, type Pseudonymizer, type StudyCatalog } from '@imaging-facade/consent';
import { FhirError } from '@imaging-facade/fhir';
import { conflict, OutcomeError, unprocessable } from '@imaging-facade/fhir-outcomes';
import { errorMessage, retry, type Logger } from '@imaging-facade/service-kit';
import { buildConsent, decisionOfConsent, type ConsentSettings } from './consent-resource';
import type { ConsentStore } from './consent-store';
import type { StatePublisher } from './state-publisher';

export interface RecordRequest {
  patient: PatientIdentifier;
  provision: 'permit' | 'deny';
  study?: ConsentStudy | undefined;
  user: string;
}

export interface RevokeRequest {
  patient: PatientIdentifier;
  study?: ConsentStudy | undefined;
  user: string;
  /**
   * The Consent the caller saw in force for this scope (the page's, or the API's `consent`): when
   * another decision is in force now, nothing is revoked (DecisionChangedError).
   */
  expectedConsentId?: string | undefined;
}

export interface ChangeResult {
  /** The new Consent (absent for a revocation). */
  consentId?: string;
  /** Consents this change made inactive. */
  inactivated: string[];
  state: PatientConsentState;
  /** False when the new state could not be put on Kafka yet: it is retried in the background. */
  announced: boolean;
}

/** A patient's state as read from FHIR, with its place in FHIR's order of their changes. */
export type StateInFhir = PatientConsentState & { fhirOrder: ConsentStateOrder };

export interface DecisionServiceOptions {
  store: ConsentStore;
  publisher: StatePublisher;
  /** Links a StudyInstanceUID and an accession number of the same study. */
  catalog: Pick<StudyCatalog, 'study' | 'studiesOf'>;
  settings: ConsentSettings;
  logger: Logger;
  /** Names a patient in the log lines (the node's log pseudonym key). */
  pseudonymize: Pseudonymizer;
  metrics: Registry;
  now?: () => Date;
}

const CONFLICT_ATTEMPTS = 5;
/** Publications of one announcement at most: its own state, then FHIR's newer ones (`announce`). */
const ANNOUNCE_ROUNDS = 3;

/**
 * A decision about a study the node knows as another patient's, or as a study without PatientID:
 * it would be stored and govern nothing (decisions are kept under the patient, and the study is
 * decided under its own patient), so it is refused with a `422` rather than accepted silently.
 */
export class StudyOfAnotherPatientError extends OutcomeError {
  constructor() {
    super(unprocessable("the study named belongs to another patient, or to no patient, at this node: a decision for this patient would not apply to it", ['study']));
    this.name = 'StudyOfAnotherPatientError';
  }
}

/**
 * A revocation of a decision that is no longer the one in force: another desk recorded a new one
 * since the caller read it (a page left open). Revoking would end that newer decision, unseen, so
 * nothing is revoked: `409`.
 */
export class DecisionChangedError extends OutcomeError {
  constructor() {
    super(conflict('the decision in force is no longer the one to revoke: another decision was recorded since (at another desk?). Nothing was revoked; read the decision in force again'));
    this.name = 'DecisionChangedError';
  }
}

/**
 * Several Patient records carry the patient's identifier in the FHIR server (another writer made one
 * before a conditional create, an EHR import made another): the records may be one person's, or two
 * people's sharing an identifier by mistake. Decisions apply to the identifier, so a refusal is
 * recorded (against one of the records) and withholds the studies of all of them; an agreement, or
 * the end of a refusal, would share them on a guess: `409` (`multiple-matches`) until the records
 * are merged. Its message names no patient.
 */
export class SeveralPatientRecordsError extends OutcomeError {
  constructor() {
    super({
      status: 409,
      outcome: {
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'error',
            code: 'multiple-matches',
            diagnostics:
              'several Patient records carry this identifier in the FHIR server: they must be merged before an agreement, or the end of a refusal, can be recorded (it would share the studies of whoever they are). Nothing was changed; a refusal can still be recorded',
          },
        ],
      },
    });
    this.name = 'SeveralPatientRecordsError';
  }
}

/**
 * Whether a change may share what was withheld: an agreement, or the end of a refusal (the policy,
 * or a decision less strict, then applies). A refusal, or the end of an agreement, only withholds.
 */
export function maySharePatientStudies(change: { provision?: 'permit' | 'deny' | undefined; ending: readonly Consent[] }): boolean {
  if (change.provision !== undefined) {
    return change.provision === 'permit';
  }
  return change.ending.some((consent) => decisionOfConsent(consent)?.provision === 'deny');
}

/**
 * Records, revokes and reads a patient's decisions. FHIR holds the truth: every change is one
 * transaction (new Consent + superseded ones inactive), then the patient's complete state, read
 * back from FHIR, is announced on Kafka. Changes of one patient are serialized in this process;
 * between processes, If-Match on the superseded Consents turns a race into a retry.
 */
export class DecisionService {
  private readonly lock = new KeyedLock();
  /** Patients whose latest state is in FHIR but not yet on Kafka. */
  private readonly unannounced = new Map<string, PatientIdentifier>();
  private readonly recorded: Counter<'provision' | 'scope'>;
  private readonly revoked: Counter;
  private readonly now: () => Date;

  constructor(private readonly options: DecisionServiceOptions) {
    this.now = options.now ?? (() => new Date());
    this.recorded = new Counter({
      name: 'consent_decisions_recorded_total',
      help: 'Decisions recorded, by provision and scope',
      labelNames: ['provision', 'scope'] as const,
      registers: [options.metrics],
    });
    this.revoked = new Counter({ name: 'consent_decisions_revoked_total', help: 'Decisions revoked', registers: [options.metrics] });
    const unannounced = this.unannounced;
    new Gauge({
      name: 'consent_states_unannounced',
      help: 'Patients whose consent state is in FHIR but not yet on Kafka',
      registers: [options.metrics],
      collect() {
        this.set(unannounced.size);
      },
    });
  }

  /**
   * The patient's current state, read from FHIR, with where it stands in FHIR's order of changes
   * (`fhirOrder`, from every desk Consent of theirs, inactive ones included: one search).
   */
  async current(patient: PatientIdentifier): Promise<StateInFhir> {
    const consents = await this.options.store.patientConsents(patient);
    return {
      ...this.stateFrom(
        patient,
        consents.filter((consent) => consent.status === 'active'),
      ),
      fhirOrder: stateOrderOf(consents),
    };
  }

  /**
   * Records a decision. A study named by UID that the node's catalogue knows must be this
   * patient's (StudyOfAnotherPatientError); one it does not know yet (a decision taken before the
   * exam) is accepted. An accession number is not checked: the same number may be another
   * issuer's, for an exam still to come. While several Patient records carry the identifier, only a
   * refusal is recorded (SeveralPatientRecordsError).
   */
  record(request: RecordRequest): Promise<ChangeResult> {
    const { patient, study } = request;
    const known = study?.studyInstanceUid !== undefined ? this.options.catalog.study(study.studyInstanceUid) : undefined;
    if (known && known.patientKey !== patientKey(patient)) {
      return Promise.reject(new StudyOfAnotherPatientError());
    }
    return this.lock.run(patientKey(patient), async () => {
      const { consentId, inactivated } = await this.withConflictRetry(async () => {
        const patientRecords = await this.options.store.patientRecords(patient);
        this.refuseSharingAcross(patient, patientRecords, { provision: request.provision, ending: [] });
        const active = await this.options.store.activeConsents(patient);
        // A decision for all studies replaces every one in force, those about one study too: "share no
        // study" said after agreeing to one must hide that one as well (a study's own decision beats the
        // patient-wide one, libs/consent, so it would otherwise stay shared).
        const superseded = study ? this.inForceFor(active, patient, study) : active.filter((consent) => decisionOfConsent(consent) !== undefined);
        const recordedAt = this.now().toISOString();
        const { consentId } = await this.options.store.commit({
          patient,
          patientRecords,
          create: (patientReference) =>
            buildConsent({ patient, provision: request.provision, study, recordedAt, recordedBy: request.user }, this.options.settings, patientReference),
          inactivate: superseded,
        });
        return { consentId, inactivated: superseded.map((consent) => consent.id!) };
      });
      this.recorded.inc({ provision: request.provision, scope: study ? 'study' : 'patient' });
      const { state, announced } = await this.announce(patient);
      return { consentId, inactivated, state, announced };
    });
  }

  /**
   * Ends the decision in force for the scope (all studies, or the study); with none in force, changes
   * nothing. With `expectedConsentId`, only when that Consent is among those in force for the scope
   * (else DecisionChangedError); checked again on each attempt, so a change by another desk that
   * makes the transaction fail (412) is seen. The end of a refusal, while several Patient records
   * carry the identifier, is refused (SeveralPatientRecordsError): it would share.
   */
  revoke(request: RevokeRequest): Promise<ChangeResult> {
    const { patient, study, expectedConsentId } = request;
    return this.lock.run(patientKey(patient), async () => {
      const inactivated = await this.withConflictRetry(async () => {
        const ended = this.inForceFor(await this.options.store.activeConsents(patient), patient, study);
        if (expectedConsentId !== undefined && ended.length > 0 && !ended.some((consent) => consent.id === expectedConsentId)) {
          throw new DecisionChangedError();
        }
        if (maySharePatientStudies({ ending: ended })) {
          this.refuseSharingAcross(patient, await this.options.store.patientRecords(patient), { ending: ended });
        }
        await this.options.store.commit({ patient, inactivate: ended });
        return ended.map((consent) => consent.id!);
      });
      if (inactivated.length === 0) {
        return { inactivated, state: await this.current(patient), announced: true };
      }
      this.revoked.inc(inactivated.length);
      const { state, announced } = await this.announce(patient);
      return { inactivated, state, announced };
    });
  }

  /**
   * Puts the patient's state as FHIR has it on Kafka when the topic's, `known()` (the consent view's,
   * read once FHIR has answered), is older or different (`topicLags`); announced as a decision is
   * (`announce`: FHIR read again after publishing). Resolves true when it announced. Heals a state
   * written to FHIR but never announced (a desk that died in between): at start, and at every
   * periodic sweep (reconciliation.ts).
   */
  reconcile(patient: PatientIdentifier, known: () => PatientConsentState | undefined): Promise<boolean> {
    return this.lock.run(patientKey(patient), async () => {
      const state = await this.current(patient);
      const held = known();
      if (!topicLags(state, held)) {
        return false;
      }
      if (held?.fhirOrder !== undefined && compareStateOrder(state.fhirOrder, held.fhirOrder) < 0) {
        // A Consent deleted, or FHIR restored from a backup: the views keep the newer state they hold.
        this.options.logger.warn({ patient: this.options.pseudonymize(patientKey(patient)) }, "FHIR's consent state is older than the topic's: the consent views keep theirs");
      }
      await this.announce(patient, state);
      return true;
    });
  }

  /** Announces again every state that could not be announced; called periodically. */
  async announcePending(): Promise<void> {
    for (const patient of [...this.unannounced.values()]) {
      await this.lock.run(patientKey(patient), () => this.announce(patient));
    }
  }

  get unannouncedCount(): number {
    return this.unannounced.size;
  }

  /**
   * The state as FHIR has it, then onto Kafka; remembered for a later attempt when Kafka refuses it.
   * Once published, FHIR is read again: when another desk changed the patient after this read and
   * published before this desk, this message, last on the topic, is older than FHIR. Every consent
   * view skips it (`fhirOrder`), but compaction keeps a key's last message only, and a consumer of
   * an older version takes the last one: so FHIR's newer state is published after it.
   */
  private async announce(patient: PatientIdentifier, read?: StateInFhir): Promise<{ state: PatientConsentState; announced: boolean }> {
    const key = patientKey(patient);
    let state: StateInFhir;
    try {
      state = read ?? (await this.current(patient));
    } catch (error) {
      // The change may be in FHIR already: the background loop announces it once FHIR answers.
      this.unannounced.set(key, patient);
      throw error;
    }
    for (let round = 1; ; round++) {
      if (!(await this.options.publisher.publish(state))) {
        this.unannounced.set(key, patient);
        return { state, announced: false };
      }
      let after: typeof state;
      try {
        after = await this.current(patient);
      } catch (error) {
        // Announced; whether FHIR changed since is checked again by the background loop.
        this.options.logger.warn({ reason: errorMessage(error) }, 'could not read the consent state again after announcing it: checked again later');
        this.unannounced.set(key, patient);
        return { state, announced: true };
      }
      if (compareStateOrder(after.fhirOrder, state.fhirOrder) <= 0) {
        this.unannounced.delete(key);
        return { state, announced: true };
      }
      if (round === ANNOUNCE_ROUNDS) {
        // Still changing: the background loop announces what FHIR has then.
        this.unannounced.set(key, patient);
        return { state, announced: true };
      }
      this.options.logger.info({ round }, 'the consent state changed in FHIR while it was announced: announcing the newer one');
      state = after;
    }
  }

  /**
   * Throws SeveralPatientRecordsError for a change that may share while several Patient records carry
   * the identifier; a refusal is let through. Both are logged, the patient by pseudonym, so that the
   * records get merged.
   */
  private refuseSharingAcross(patient: PatientIdentifier, patientRecords: readonly string[], change: Parameters<typeof maySharePatientStudies>[0]): void {
    if (patientRecords.length < 2) {
      return;
    }
    const logged = { patient: this.options.pseudonymize(patientKey(patient)) };
    if (maySharePatientStudies(change)) {
      this.options.logger.warn(logged, 'several Patient records carry the identifier: a change that would share was refused until they are merged');
      throw new SeveralPatientRecordsError();
    }
    this.options.logger.warn(logged, 'several Patient records carry the identifier: the refusal is recorded against the first and applies to the identifier; merge the records');
  }

  /** The active Consents a new decision (or a revocation) for this scope replaces. */
  private inForceFor(active: Consent[], patient: PatientIdentifier, study: ConsentStudy | undefined): Consent[] {
    return active.filter((consent) => {
      const decision = decisionOfConsent(consent);
      if (!decision) {
        return false;
      }
      if (!study) {
        return decision.scope === 'patient';
      }
      return decision.scope === 'study' && this.sameStudy(decision.study!, study, patientKey(patient));
    });
  }

  /** Two study references name the same study: same UID, same accession, or linked by the catalogue. */
  private sameStudy(a: ConsentStudy, b: ConsentStudy, key: string): boolean {
    const uids = (study: ConsentStudy): Set<string> => {
      const found = new Set<string>();
      if (study.studyInstanceUid) {
        found.add(study.studyInstanceUid);
      }
      if (study.accessionNumber) {
        for (const summary of this.options.catalog.studiesOf(key)) {
          if (summary.accessionNumber === study.accessionNumber) {
            found.add(summary.studyInstanceUid);
          }
        }
      }
      return found;
    };
    if (a.accessionNumber && a.accessionNumber === b.accessionNumber) {
      return true;
    }
    const left = uids(a);
    return [...uids(b)].some((uid) => left.has(uid));
  }

  private async withConflictRetry<T>(attempt: () => Promise<T>): Promise<T> {
    return retry(attempt, {
      isRetryable: (error) => error instanceof FhirError && (error.status === 409 || error.status === 412),
      attempts: CONFLICT_ATTEMPTS,
      // The other writer is done within a FHIR round trip: try again almost at once.
      initialMs: 10,
      maxMs: 100,
      onRetry: ({ attempt: tries, error }) => this.options.logger.warn({ tries: tries + 1, reason: errorMessage(error) }, 'a concurrent change of the same patient: trying again'),
    });
  }

  private stateFrom(patient: PatientIdentifier, consents: Consent[]): PatientConsentState {
    const decisions = consents
      .map((consent) => decisionOfConsent(consent))
      .filter((decision): decision is ConsentDecision => decision !== undefined)
      .sort((a, b) => a.recordedAt.localeCompare(b.recordedAt) || a.consentId.localeCompare(b.consentId));
    return { patient, decisions, updatedAt: this.now().toISOString() };
  }
}

/** What a decision says, with its Consent: two equal fingerprints are the same decision of the same Consent. */
export function decisionFingerprint(decision: ConsentDecision): string {
  return [decision.consentId, decision.provision, decision.scope, decision.study?.studyInstanceUid ?? '', decision.study?.accessionNumber ?? ''].join(':');
}

/** Two states hold the same decisions (the same Consents, saying the same). */
export function sameDecisions(a: PatientConsentState | undefined, b: PatientConsentState | undefined): boolean {
  const fingerprint = (state: PatientConsentState | undefined) =>
    (state?.decisions ?? [])
      .map(decisionFingerprint)
      .sort()
      .join(',');
  return fingerprint(a) === fingerprint(b);
}

/**
 * Whether FHIR's state of a patient must be announced over the topic's (`known`, as a consent view
 * holds it): their decisions differ, or the topic's comes before FHIR's in FHIR's order of the
 * patient's changes (or carries no order, published before 2026-12-07). No state on the topic and
 * none in force in FHIR agree.
 */
export function topicLags(inFhir: StateInFhir, known: PatientConsentState | undefined): boolean {
  if (!sameDecisions(inFhir, known)) {
    return true;
  }
  return known !== undefined && (known.fhirOrder === undefined || compareStateOrder(known.fhirOrder, inFhir.fhirOrder) < 0);
}
