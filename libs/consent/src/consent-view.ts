import path from 'node:path';
import type { Kafka } from 'kafkajs';
import {
  CONSENT_DECISION_V1,
  consentDecisionV1Schema,
  patientKey,
  topicName,
  type PatientIdentifier,
} from '@imaging-facade/events';
import { errorMessage, type Logger } from '@imaging-facade/service-kit';
import { CompactedTopicReader, CompactedTopicView, type TopicRecord } from './compacted-topic-reader';
import { ConsentViewDb } from './consent-view-db';
import { decideSharing, type ConsentPolicy, type PatientConsentState, type SharingDecision, type StudyRef } from './policy';
import type { Pseudonymizer } from './pseudonym';
import { takesOver } from './state-order';

export interface ConsentChange {
  /** The state before this message (undefined: the view knew no decision for the patient). */
  previous: PatientConsentState | undefined;
  /** True while the view replays the topic at start, before `ready()`. */
  replaying: boolean;
}

/** Called with the patient's new complete state (undefined when the patient has no decision left). */
export type ConsentListener = (patientKey: string, state: PatientConsentState | undefined, change: ConsentChange) => void | Promise<void>;

export interface ConsentViewOptions {
  kafka: Kafka;
  topicPrefix: string;
  policy: ConsentPolicy;
  logger: Logger;
  /** Prefix of the view's own consumer group (a unique suffix is added per process). */
  groupIdPrefix?: string;
  /**
   * Where the view keeps its file (`<topic>.sqlite`), so that a restart reads only what the topic
   * got since. Without it, the view reads the whole topic at each start into a database in memory.
   */
  directory?: string;
  /**
   * Reads the whole topic at this start, whatever the file holds: listeners are then told of every
   * patient the topic names, those whose decisions are all revoked included.
   */
  fromBeginning?: boolean;
  /**
   * Names a patient in the view's log lines (`pseudonymizer(node's FACADE_LOG_PSEUDONYM_KEY)`).
   * Without it, those lines name no patient.
   */
  pseudonymize?: Pseudonymizer;
}

/**
 * Every patient's current consent state, materialized from the compacted decisions topic into a
 * SQLite file that a restart reads on from (or into memory, without a `directory`), so that any
 * service can decide, without a network call, whether a study may be shared.
 * Start it, wait for `ready()` before deciding anything (before that it does not know every
 * refusal), then keep it running: `onChange` tells when a patient's decisions change.
 * A patient's state is replaced only by one that is not older in the FHIR server's order of
 * changes (`takesOver`, on the message's `fhirOrder`): with several desks, the last message on the
 * topic may be a state a desk read before another desk's change.
 */
export class ConsentView extends CompactedTopicView {
  private readonly states: ConsentViewDb;
  private readonly listeners = new Set<ConsentListener>();
  protected readonly reader: CompactedTopicReader;
  private readonly logger: Logger;
  private readonly patientField: (key: string) => { patient?: string };
  private skipped = 0;
  readonly topic: string;
  readonly policy: ConsentPolicy;
  /** The view's file, or ':memory:'. */
  readonly file: string;

  constructor(options: ConsentViewOptions) {
    super();
    this.topic = topicName(CONSENT_DECISION_V1.topic, options.topicPrefix);
    this.policy = options.policy;
    this.file = options.directory ? path.join(options.directory, `${this.topic}.sqlite`) : ':memory:';
    this.states = new ConsentViewDb(this.file, this.topic);
    if (options.fromBeginning) {
      this.states.reset();
    }
    this.logger = options.logger.child({ component: 'consent-view' });
    const pseudonymize = options.pseudonymize;
    this.patientField = pseudonymize ? (key) => ({ patient: pseudonymize(key) }) : () => ({});
    this.reader = new CompactedTopicReader({
      kafka: options.kafka,
      spec: CONSENT_DECISION_V1,
      topicPrefix: options.topicPrefix,
      groupIdPrefix: options.groupIdPrefix ?? 'consent-view',
      logger: this.logger,
      apply: (record) => this.apply(record),
      position: this.states,
    });
  }

  /** Stops following the topic and closes the file. */
  override async stop(): Promise<void> {
    await super.stop();
    this.states.close();
  }

  /** The patient's current state; undefined when no decision is known for them. */
  stateOf(patient: string | PatientIdentifier): PatientConsentState | undefined {
    return this.states.get(typeof patient === 'string' ? patient : patientKey(patient));
  }

  /** Whether the study may reach the shared index, under the deployment's policy. */
  decide(patient: string | PatientIdentifier | undefined, study: StudyRef): SharingDecision {
    return decideSharing(this.policy, patient === undefined ? undefined : this.stateOf(patient), study);
  }

  /** Every patient with at least one decision in force, in key order. */
  patients(): IterableIterator<[string, PatientConsentState]> {
    return this.states.entries();
  }

  /** How many states this view did not apply since it started, being older in FHIR's order than the one it held. */
  get olderStatesSkipped(): number {
    return this.skipped;
  }

  /** How many patients have a decision in force. */
  get size(): number {
    return this.states.count();
  }

  /** Registers a listener; returns the function that removes it. Listeners must not throw (errors are logged). */
  onChange(listener: ConsentListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private apply(record: TopicRecord): void {
    if (record.key === null) {
      throw new Error('a decisions message without a key');
    }
    const key = record.key;
    let state: PatientConsentState | undefined;
    if (record.value !== null) {
      const parsed = consentDecisionV1Schema.safeParse(JSON.parse(record.value.toString('utf8')));
      if (!parsed.success) {
        throw new Error(`invalid decisions message: ${parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
      }
      if (patientKey(parsed.data.data.patient) !== key) {
        throw new Error('the message key is not the patient of the message');
      }
      const held = this.states.order(key);
      const incoming = parsed.data.data.fhirOrder;
      if (!takesOver(held, incoming)) {
        // A desk published what it had read of FHIR before another desk's change, after that change.
        this.skipped++;
        this.logger.info({ ...this.patientField(key), partition: record.partition, offset: record.offset, held, incoming }, 'an older consent state, published late, is not applied');
        return;
      }
      this.states.setOrder(key, incoming);
      state = parsed.data.data.decisions.length > 0 ? parsed.data.data : undefined;
    } else {
      // A tombstone forgets the patient, by its place on the topic.
      this.states.setOrder(key, undefined);
    }
    const previous = this.states.get(key);
    if (state) {
      this.states.put(key, state);
    } else {
      this.states.delete(key);
    }
    const change: ConsentChange = { previous, replaying: !this.reader.isReady() };
    this.logger.debug({ ...this.patientField(key), decisions: state?.decisions.length ?? 0, replaying: change.replaying }, 'consent state applied');
    for (const listener of this.listeners) {
      this.notify(listener, key, state, change);
    }
  }

  private notify(listener: ConsentListener, key: string, state: PatientConsentState | undefined, change: ConsentChange): void {
    const failed = (error: unknown) => this.logger.error({ ...this.patientField(key), reason: errorMessage(error) }, 'consent listener failed');
    try {
      const result = listener(key, state, change);
      if (result instanceof Promise) {
        result.catch(failed);
      }
    } catch (error) {
      failed(error);
    }
  }
}
