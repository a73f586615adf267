import { CONSENT_DECISION_V1, makeEvent, patientKey } from '@imaging-facade/events';
import { backoffDelay, sleep, type EventPublisher } from '@imaging-facade/kafka';
import { pseudonym, type PatientConsentState } from '@imaging-facade/consent';
import { errorMessage, type Logger } from '@imaging-facade/service-kit';

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
    private readonly retry: PublishRetry = { attempts: 5, initialMs: 250, maxMs: 4_000 },
  ) {}

  async publish(state: PatientConsentState, signal?: AbortSignal): Promise<boolean> {
    const key = patientKey(state.patient);
    const event = makeEvent(CONSENT_DECISION_V1.type, EVENT_SOURCE, pseudonym(key), state);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.publisher.publish(this.topic, key, event);
        return true;
      } catch (error) {
        const patient = pseudonym(key);
        if (attempt + 1 >= this.retry.attempts || signal?.aborted) {
          this.logger.error({ patient, attempt, reason: errorMessage(error) }, 'could not announce the consent state');
          return false;
        }
        this.logger.warn({ patient, attempt, reason: errorMessage(error) }, 'announcing the consent state failed, will retry');
        await sleep(backoffDelay(attempt, this.retry.initialMs, this.retry.maxMs), signal);
      }
    }
  }
}
