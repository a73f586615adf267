import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import { badGateway, OutcomeError } from '@imaging-facade/fhir-outcomes';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { Counter, Gauge, type Registry } from 'prom-client';
import { errorMessage, type Logger } from '@imaging-facade/service-kit';
import { withoutReferences } from './audit-event';
import { writableAuditEvent } from './audit-text';
import type { Upstream } from '@imaging-facade/fhir';

export interface AuditWriterSettings {
  batchSize: number;
  flushIntervalMs: number;
  maxQueue: number;
  shutdownFlushMs: number;
}

/** Where AuditEvents go: a `transaction` or `batch` Bundle to the FHIR server. */
export type BatchSender = (bundle: Bundle) => Promise<{ status: number; body: unknown }>;

/** How long a client is told to wait (Retry-After) while the audit trail cannot be written. */
const AUDIT_RETRY_AFTER_SECONDS = 30;

/**
 * No access that could not be recorded: while the audit queue is full (AuditWriter.isFull), a
 * request is answered 503 with Retry-After, thrown for the face's error handler. Both faces call it
 * before anything else.
 */
export function refuseWhileAuditFull(audit: { isFull?: () => boolean }, res: Response): void {
  if (audit.isFull?.() === true) {
    res.set('retry-after', String(AUDIT_RETRY_AFTER_SECONDS));
    throw new OutcomeError({ ...badGateway('The audit trail cannot be written now; try again shortly'), status: 503 });
  }
}

/** Times the server may fail one entry of a batch it otherwise answered (a 5xx for it alone) before the entry is given up. */
export const MAX_ENTRY_ATTEMPTS = 5;

/**
 * Writes AuditEvents to the FHIR server off the request's path: requests only enqueue, a timer
 * (or a full batch) sends them as one Bundle. A batch the server does not take (down, 5xx) stays queued and is sent
 * again; an entry it refuses because a resource it names was deleted meanwhile is sent again with
 * identifiers instead of references; on shutdown the queue is written out before the gateway stops.
 * Each event gets its id when queued and is written with a PUT to it, so that a batch sent again
 * after a timeout (the server wrote it, the answer was lost) does not record an access twice. One
 * event the server keeps failing on its own is given up after MAX_ENTRY_ATTEMPTS, so that it
 * never holds the queue back.
 */
export class AuditWriter {
  private readonly queue: AuditEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failures = 0;
  private readonly entryFailures = new WeakMap<AuditEvent, number>();
  private readonly written: Counter<'outcome'>;
  private readonly queued: Gauge;

  constructor(
    private readonly send: BatchSender,
    private readonly settings: AuditWriterSettings,
    private readonly logger: Logger,
    metrics: Registry,
  ) {
    this.written = new Counter({
      name: 'gateway_audit_events_total',
      help: 'AuditEvents, by what became of them',
      labelNames: ['outcome'] as const,
      registers: [metrics],
    });
    this.queued = new Gauge({ name: 'gateway_audit_queue_length', help: 'AuditEvents waiting to be written', registers: [metrics] });
  }

  static toFhir(upstream: Upstream): BatchSender {
    return async (bundle) => {
      const response = await upstream.request('POST', '', { body: bundle });
      return { status: response.status, body: response.body };
    };
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.settings.flushIntervalMs);
    this.timer.unref();
  }

  enqueue(event: AuditEvent): void {
    if (this.queue.length >= this.settings.maxQueue) {
      // The head of the queue may be in flight: the newest event is the one given up.
      this.written.inc({ outcome: 'dropped' });
      this.logger.error({ maxQueue: this.settings.maxQueue }, 'audit queue full: an AuditEvent was dropped');
      return;
    }
    this.queue.push({ ...writableAuditEvent(event), id: event.id ?? randomUUID() });
    this.queued.set(this.queue.length);
    if (this.queue.length >= this.settings.batchSize) {
      void this.flush();
    }
  }

  get pending(): number {
    return this.queue.length;
  }

  /**
   * The queue is full: the FHIR server has not taken AuditEvents for a long while. The faces then
   * refuse new requests (503) rather than serve an access they could not record, and `/readyz`
   * says so, until the server takes the queue again.
   */
  isFull(): boolean {
    return this.queue.length >= this.settings.maxQueue;
  }

  /** For `/readyz`: fails while the queue is full. */
  readonly readiness = {
    name: 'audit-trail',
    probe: async (): Promise<void> => {
      if (this.isFull()) {
        throw new Error(`${this.queue.length} AuditEvents wait for the FHIR server: new requests are refused until it takes them`);
      }
    },
  };

  /** Sends what is queued, one batch at a time; concurrent calls share the run in progress. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Stops the timer and writes out the queue, trying for at most `shutdownFlushMs`. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    const deadline = Date.now() + this.settings.shutdownFlushMs;
    while (this.queue.length > 0 && Date.now() < deadline) {
      await this.flush();
      if (this.queue.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(500, Math.max(0, deadline - Date.now()))));
      }
    }
    if (this.queue.length > 0) {
      this.written.inc({ outcome: 'lost' }, this.queue.length);
      throw new Error(`${this.queue.length} AuditEvents could not be written before shutdown`);
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.settings.batchSize);
      let retry: AuditEvent[];
      try {
        retry = await this.sendBatch(batch);
      } catch (error) {
        this.failures++;
        if (this.failures === 1 || this.failures % 30 === 0) {
          this.logger.warn({ reason: errorMessage(error), pending: this.queue.length, failures: this.failures }, 'AuditEvents not written yet, will retry');
        }
        return;
      }
      this.failures = 0;
      this.queue.splice(0, batch.length, ...retry);
      this.queued.set(this.queue.length);
      if (retry.length > 0) {
        return;
      }
    }
  }

  /**
   * Sends one batch; resolves with the events to send again. A `transaction` first (one database
   * transaction: HAPI writes it several times faster than a `batch`); when the server refuses it
   * as a whole, the same events as a `batch`, whose answer says which entry was refused.
   */
  private async sendBatch(batch: AuditEvent[]): Promise<AuditEvent[]> {
    const entry = batch.map((resource) => ({ resource, request: { method: 'PUT' as const, url: `AuditEvent/${resource.id ?? ''}` } }));
    const atOnce = await this.send({ resourceType: 'Bundle', type: 'transaction', entry });
    if (atOnce.status === 200) {
      this.written.inc({ outcome: 'written' }, batch.length);
      return [];
    }
    // Refused (4xx) or failed (5xx) as a whole: the batch tells a server that is down from one
    // entry it fails on (which a transaction fails with it).
    const { status, body } = await this.send({ resourceType: 'Bundle', type: 'batch', entry });
    if (status !== 200) {
      throw new Error(`the FHIR server answered HTTP ${status} to an audit batch`);
    }
    const entries = (body as Bundle | undefined)?.entry ?? [];
    const retry: AuditEvent[] = [];
    batch.forEach((event, index) => {
      const entryStatus = Number.parseInt(entries[index]?.response?.status ?? '', 10);
      if (entryStatus >= 200 && entryStatus < 300) {
        this.written.inc({ outcome: 'written' });
      } else if (entryStatus >= 500 || Number.isNaN(entryStatus)) {
        const attempts = (this.entryFailures.get(event) ?? 0) + 1;
        if (attempts < MAX_ENTRY_ATTEMPTS) {
          this.entryFailures.set(event, attempts);
          retry.push(event);
        } else {
          this.written.inc({ outcome: 'refused' });
          this.logger.error({ status: entryStatus, auditEventId: event.id, attempts }, 'the FHIR server kept failing on one AuditEvent: given up');
        }
      } else if (event.entity?.some((entity) => entity.what?.reference)) {
        // Most likely a resource named in the event was deleted since (a withdrawn study).
        retry.push(withoutReferences(event));
      } else {
        this.written.inc({ outcome: 'refused' });
        this.logger.error({ status: entryStatus, auditEventId: event.id }, 'the FHIR server refused an AuditEvent');
      }
    });
    return retry;
  }
}
