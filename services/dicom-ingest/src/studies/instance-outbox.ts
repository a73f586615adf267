import type { InstanceStoredV1Data } from '@imaging-facade/events';
import { backoffDelay, errorMessage, type Logger } from '@imaging-facade/service-kit';
import type { IngestEvents } from '../ingest-events';
import type { LineState } from './line-settlement';
import { indexRecordSchema, type StudyIndex } from './study-index';

export interface InstanceOutboxOptions {
  index: Pick<StudyIndex, 'readFrom'>;
  events: Pick<IngestEvents, 'instancesStored'>;
  retry: { initialMs: number; maxMs: number };
  logger: Logger;
  /** How long a kicked drain waits for more lines, so that a busy study's events go out in batches. */
  lingerMs?: number;
  /**
   * Where a line stands (LineSettlement.stateOf): a drain stops before a line still in flight (its
   * settling kicks the outbox again) and leaves void lines out. Without it, every line is settled.
   */
  lineState?: (studyUid: string, spoolPath: string | undefined) => LineState;
}

/**
 * Like Kafka's linger.ms: publishing each line as it is appended cost more CPU than receiving the
 * instance (a request, a CRC and an index read per event); a short wait batches them.
 */
export const DEFAULT_OUTBOX_LINGER_MS = 200;

/** What an instance-stored event needs from an index line (the rest of the line is not parsed). */
const eventFields = indexRecordSchema.pick({
  sopInstanceUid: true,
  seriesInstanceUid: true,
  sopClassUid: true,
  transferSyntaxUid: true,
  storagePath: true,
  sizeBytes: true,
  receivedAt: true,
  callingAeTitle: true,
  calledAeTitle: true,
  spoolPath: true,
});

/**
 * Publishes `imaging.instance-stored.v1` off the C-STORE path. The outbox is the study index itself
 * (fsynced before the instance is answered): per study, a background drain publishes the lines
 * after its cursor, in order and in batches, and moves the cursor once Kafka has them. Kafka down
 * only delays the drain (retried with backoff); stores go on. The cursor lives in memory: after a
 * restart, the index of every study still pending is published again from its start (at least
 * once). A study's pending marker is cleared only after `drain` reached the end of its index, so
 * nothing acknowledged misses its event, even through a crash.
 */
export class InstanceOutbox {
  private readonly cursors = new Map<string, number>();
  /** Per study, the drain under way (drains of one study never overlap: order is kept). */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  /** Per study, the drain waiting for its linger to end. */
  private readonly lingering = new Map<string, NodeJS.Timeout>();
  private readonly attempts = new Map<string, number>();
  /** Studies kicked while their drain ran: kicked again when it ends, to take the new lines. */
  private readonly again = new Set<string>();
  private stopped = false;

  constructor(private readonly options: InstanceOutboxOptions) {}

  /** Where the unpublished lines of a study start, when it is known that every line before was published. */
  startAt(studyUid: string, offset: number): void {
    if (!this.cursors.has(studyUid)) {
      this.cursors.set(studyUid, offset);
    }
  }

  /**
   * New lines were appended: publish them in the background, after the linger (lines appended
   * meanwhile go in the same batch). Failures are retried with backoff.
   */
  kick(studyUid: string): void {
    if (this.stopped || this.lingering.has(studyUid)) {
      return;
    }
    if (this.retries.has(studyUid) || this.chains.has(studyUid)) {
      // A drain under way reads to the end of the index, and is kicked again if this kick came late (see drain).
      this.again.add(studyUid);
      return;
    }
    const timer = setTimeout(() => {
      this.lingering.delete(studyUid);
      this.run(studyUid, 'what-is-there').then(
        () => this.attempts.delete(studyUid),
        (error: unknown) => this.retryLater(studyUid, error),
      );
    }, this.options.lingerMs ?? DEFAULT_OUTBOX_LINGER_MS);
    timer.unref();
    this.lingering.set(studyUid, timer);
  }

  /** Publishes every line of the study's index up to its end now; rejects when Kafka does not take them. */
  drain(studyUid: string): Promise<void> {
    return this.run(studyUid, 'to-the-end');
  }

  /**
   * One drain of the study, after the one under way. A kicked drain publishes what the index holds
   * when it reads it, and no more: lines appended while it publishes wait for the next linger (their
   * kick set `again`). Reading on until the index stops growing would publish a busy study line by
   * line, one Kafka request per instance, which the linger is there to avoid.
   */
  private run(studyUid: string, until: 'what-is-there' | 'to-the-end'): Promise<void> {
    const previous = this.chains.get(studyUid) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        this.again.delete(studyUid);
        await this.publish(studyUid, until);
      });
    this.chains.set(studyUid, run);
    void run
      .catch(() => undefined)
      .finally(() => {
        if (this.chains.get(studyUid) === run) {
          this.chains.delete(studyUid);
          if (this.again.has(studyUid)) {
            this.again.delete(studyUid);
            this.kick(studyUid);
          }
        }
      });
    return run;
  }

  /** Runs `rewrite` (a compaction of the index) between drains; the cursor becomes the size it returns. */
  async rewritten(studyUid: string, rewrite: () => Promise<number>): Promise<void> {
    const previous = this.chains.get(studyUid) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        this.cursors.set(studyUid, await rewrite());
      });
    this.chains.set(studyUid, run);
    await run.finally(() => {
      if (this.chains.get(studyUid) === run) {
        this.chains.delete(studyUid);
      }
    });
  }

  /** The study was published and left no pending work: its cursor need not be kept. */
  forget(studyUid: string): void {
    if (!this.chains.has(studyUid) && !this.retries.has(studyUid) && !this.lingering.has(studyUid)) {
      this.cursors.delete(studyUid);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // What they would have published stays in the outbox: the next start publishes pending studies.
    for (const timer of [...this.retries.values(), ...this.lingering.values()]) {
      clearTimeout(timer);
    }
    this.retries.clear();
    this.lingering.clear();
    await Promise.allSettled([...this.chains.values()]);
  }

  private async publish(studyUid: string, until: 'what-is-there' | 'to-the-end'): Promise<void> {
    for (let more = true; more; ) {
      const from = this.cursors.get(studyUid) ?? 0;
      const tail = await this.options.index.readFrom(studyUid, from);
      let { end } = tail;
      more = until === 'to-the-end' || tail.more;
      if (tail.lines.length === 0) {
        return;
      }
      const events: InstanceStoredV1Data[] = [];
      for (const line of tail.lines) {
        const parsed = parseLine(line.text);
        if (parsed === undefined) {
          // A torn line is cut at start (StudyIndex.repair); anything else is left out, and said.
          this.options.logger.warn({ studyInstanceUid: studyUid }, 'study index line unreadable; no instance-stored event for it');
          continue;
        }
        const { spoolPath, ...event } = parsed;
        const state = this.options.lineState?.(studyUid, spoolPath) ?? 'settled';
        if (state === 'in-flight') {
          // Its file may yet fail: published once settled (which kicks the outbox again).
          end = line.start;
          more = false;
          break;
        }
        if (state === 'settled') {
          events.push({ studyInstanceUid: studyUid, ...event });
        }
      }
      if (events.length > 0) {
        await this.options.events.instancesStored(studyUid, events);
      }
      this.cursors.set(studyUid, end);
    }
  }

  private retryLater(studyUid: string, error: unknown): void {
    if (this.stopped) {
      return;
    }
    const attempt = this.attempts.get(studyUid) ?? 0;
    this.attempts.set(studyUid, attempt + 1);
    const delay = backoffDelay(attempt, this.options.retry.initialMs, this.options.retry.maxMs);
    this.options.logger.warn(
      { studyInstanceUid: studyUid, err: errorMessage(error), attempt, retryInMs: delay },
      'publishing instance-stored events failed; kept in the outbox',
    );
    const timer = setTimeout(() => {
      this.retries.delete(studyUid);
      this.kick(studyUid);
    }, delay);
    timer.unref();
    this.retries.set(studyUid, timer);
  }
}

function parseLine(line: string): (Omit<InstanceStoredV1Data, 'studyInstanceUid'> & { spoolPath?: string }) | undefined {
  try {
    const parsed = eventFields.safeParse(JSON.parse(line));
    if (!parsed.success) {
      return undefined;
    }
    const { callingAeTitle = '', calledAeTitle = '', ...rest } = parsed.data;
    return { ...rest, callingAeTitle, calledAeTitle };
  } catch {
    return undefined;
  }
}
