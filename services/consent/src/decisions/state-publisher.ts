import { CONSENT_DECISION_V1, makeEvent, patientKey } from '@imaging-facade/events';
import type { EventPublisher } from '@imaging-facade/kafka';
import type { PatientConsentState, Pseudonymizer } from '@imaging-facade/consent';
import { errorMessage, retry, type Logger } from '@imaging-facade/service-kit';

export const EVENT_SOURCE = 'urn:imaging-facade:consent-desk';

export interface PublishRetry {
  attempts: number;
  initialMs: number;
  maxMs: number;
}

/**
 * Announces a patient's complete consent state on the compacted decisions topic (acks = all
 * in-sync replicas), retrying with backoff for a while before it gives up and reports false.
 */
export class StatePublisher {
  constructor(
    private readonly publisher: EventPublisher,
    private readonly topic: string,
    private readonly logger: Logger,
    /** Names the patient in the log lines and in the event's `subject` (the node's log pseudonym key). */
    private readonly pseudonymize: Pseudonymizer,
    private readonly retry: PublishRetry = { attempts: 5, initialMs: 250, maxMs: 4_000 },
  ) {}

  async publish(state: PatientConsentState, signal?: AbortSignal): Promise<boolean> {
    const key = patientKey(state.patient);
    const patient = this.pseudonymize(key);
    const event = makeEvent(CONSENT_DECISION_V1.type, EVENT_SOURCE, patient, state);
    try {
      await retry(() => this.publisher.publish(this.topic, key, event), {
        ...this.retry,
        isRetryable: () => true,
        ...(signal ? { signal } : {}),
        onRetry: ({ attempt, error }) => this.logger.warn({ patient, attempt, reason: errorMessage(error) }, 'announcing the consent state failed, will retry'),
      });
      return true;
    } catch (error) {
      this.logger.error({ patient, reason: errorMessage(error) }, 'could not announce the consent state');
      return false;
    }
  }
}
