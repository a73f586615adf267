import type { ReadinessCheck } from '@imaging-facade/service-kit';

/** How long one message may be retried before its consumer says so on `/readyz`. */
export const DEFAULT_STALLED_AFTER_MS = 5 * 60_000;

interface Retrying {
  topic: string;
  partition: number;
  offset: string;
  since: number;
  attempts: number;
}

/**
 * The messages a consumer is retrying, one per partition at most. A partition whose message has been
 * retried for longer than `stalledAfterMs` fails the readiness check, named by topic, partition and
 * offset only (the message may hold patient data): nothing behind it is handled, and while one
 * partition's handler waits the consumer fetches nothing for the others either, so an operator must
 * know. A server briefly down passes before that; a failure no retry mends should not be retryable
 * (libs/fhir `isRetryableFhirError`), and this is the alarm for the ones that still are.
 */
export class StalledMessages {
  private readonly retrying = new Map<string, Retrying>();

  constructor(
    private readonly stalledAfterMs = DEFAULT_STALLED_AFTER_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The message at `offset` failed and will be tried again. */
  retried(topic: string, partition: number, offset: string): void {
    const key = `${topic}\u0000${partition}`;
    const current = this.retrying.get(key);
    if (current?.offset === offset) {
      current.attempts += 1;
    } else {
      this.retrying.set(key, { topic, partition, offset, since: this.now(), attempts: 1 });
    }
  }

  /** The partition's message is done with: handled, dead-lettered, or left for after a restart. */
  settled(topic: string, partition: number): void {
    this.retrying.delete(`${topic}\u0000${partition}`);
  }

  /** The partitions stalled now, as sentences without patient data. */
  stalled(): string[] {
    const now = this.now();
    return [...this.retrying.values()]
      .filter((entry) => now - entry.since > this.stalledAfterMs)
      .map(
        (entry) =>
          `${entry.topic} partition ${entry.partition}: offset ${entry.offset} retried for ${Math.round((now - entry.since) / 1000)} s ` +
          `(${entry.attempts} attempts), nothing behind it is handled; see the log "handling failed, will retry"`,
      );
  }

  /** Fails while a partition is stalled. */
  readiness(name: string): ReadinessCheck {
    return {
      name,
      probe: async () => {
        const stalled = this.stalled();
        if (stalled.length > 0) throw new Error(stalled.join('; '));
      },
    };
  }
}
