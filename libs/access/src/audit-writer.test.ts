import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { Registry } from 'prom-client';
import { createLogger } from '@imaging-facade/service-kit';
import { AuditWriter, MAX_ENTRY_ATTEMPTS, type BatchSender } from './audit-writer';
import { MAX_OUTCOME_DESC } from './audit-text';

const logger = createLogger('test', 'silent');
const event = (n: number): AuditEvent => ({
  resourceType: 'AuditEvent',
  type: { code: 'rest' },
  recorded: new Date(0).toISOString(),
  agent: [{ requestor: true }],
  source: { observer: { display: 'gw' } },
  entity: [{ what: { reference: `Patient/p${n}` } }],
});
const settings = { batchSize: 3, flushIntervalMs: 60_000, maxQueue: 100, shutdownFlushMs: 2000 };

/**
 * A FHIR server that answers each Bundle as told: 'down' (no answer), 'refused' (a transaction
 * refused as a whole: 400), or per-entry statuses; by default everything is created.
 */
function server(answers: Array<string[] | 'down' | 'refused' | 'failed'>): { send: BatchSender; batches: Bundle[] } {
  const batches: Bundle[] = [];
  return {
    batches,
    send: async (bundle) => {
      batches.push(JSON.parse(JSON.stringify(bundle)) as Bundle);
      const answer = answers.shift() ?? (bundle.entry ?? []).map(() => '201 Created');
      if (answer === 'down') {
        throw new Error('connection refused');
      }
      if (answer === 'refused') {
        return { status: 400, body: { resourceType: 'OperationOutcome' } };
      }
      if (answer === 'failed') {
        return { status: 500, body: { resourceType: 'OperationOutcome' } };
      }
      return { status: 200, body: { resourceType: 'Bundle', type: `${bundle.type}-response`, entry: answer.map((status) => ({ response: { status } })) } };
    },
  };
}

describe('AuditWriter', () => {
  test('events are sent as transaction Bundles of at most batchSize, in order', async () => {
    const fhir = server([]);
    const writer = new AuditWriter(fhir.send, settings, logger, new Registry());
    for (let n = 0; n < 7; n++) {
      writer.enqueue(event(n));
    }
    await writer.flush();
    expect(fhir.batches.map((bundle) => bundle.entry?.length)).toEqual([3, 3, 1]);
    expect(fhir.batches[0]?.type).toBe('transaction');
    // Each under the id it got when queued: a batch sent again after a lost answer records nothing twice.
    const first = fhir.batches[0]?.entry?.[0];
    expect(first?.request).toEqual({ method: 'PUT', url: `AuditEvent/${(first?.resource as AuditEvent).id}` });
    expect((first?.resource as AuditEvent).id).toMatch(/^[0-9a-f-]{36}$/);
    expect(writer.pending).toBe(0);
  });

  test('a batch the server does not take stays queued and is sent again', async () => {
    const fhir = server(['down']);
    const writer = new AuditWriter(fhir.send, { ...settings, batchSize: 10 }, logger, new Registry());
    writer.enqueue(event(1));
    writer.enqueue(event(2));
    await writer.flush();
    expect(writer.pending).toBe(2);
    await writer.flush();
    expect(writer.pending).toBe(0);
    expect(fhir.batches).toHaveLength(2);
  });

  test('a transaction refused as a whole is sent as a batch; the event refused in it (a resource it names is gone) again with identifiers', async () => {
    const fhir = server(['refused', ['201 Created', '400 Bad Request']]);
    const writer = new AuditWriter(fhir.send, { ...settings, batchSize: 10 }, logger, new Registry());
    writer.enqueue(event(1));
    writer.enqueue(event(2));
    await writer.flush();
    await writer.flush();
    expect(fhir.batches.map((bundle) => bundle.type)).toEqual(['transaction', 'batch', 'transaction']);
    const retried = fhir.batches[2]?.entry?.[0]?.resource as AuditEvent;
    expect(retried.entity?.[0]?.what).toEqual({ identifier: { value: 'Patient/p2' }, display: 'Patient/p2' });
    expect(writer.pending).toBe(0);
  });

  test('a batch sent again after a failure carries the same ids (the server may have written it)', async () => {
    const fhir = server(['failed', 'down']);
    const writer = new AuditWriter(fhir.send, { ...settings, batchSize: 10 }, logger, new Registry());
    writer.enqueue(event(1));
    await writer.flush();
    await writer.flush();
    const urls = fhir.batches.map((bundle) => bundle.entry?.[0]?.request?.url);
    expect(new Set(urls).size).toBe(1);
    expect(writer.pending).toBe(0);
  });

  test('one event the server keeps failing on (a 5xx for it alone) does not hold the others back, and is given up', async () => {
    // The server fails every transaction holding event 2, and event 2 alone in every batch.
    const batches: Bundle[] = [];
    const send: BatchSender = async (bundle) => {
      batches.push(bundle);
      const poisoned = (bundle.entry ?? []).map((entry) => (entry.resource as AuditEvent).entity?.[0]?.what?.reference === 'Patient/p2');
      if (bundle.type === 'transaction') {
        return poisoned.includes(true) ? { status: 500, body: {} } : { status: 200, body: {} };
      }
      return { status: 200, body: { resourceType: 'Bundle', entry: poisoned.map((bad) => ({ response: { status: bad ? '500 Internal Server Error' : '201 Created' } })) } };
    };
    const writer = new AuditWriter(send, { ...settings, batchSize: 10 }, logger, new Registry());
    writer.enqueue(event(1));
    writer.enqueue(event(2));
    writer.enqueue(event(3));
    await writer.flush();
    expect(writer.pending).toBe(1);
    writer.enqueue(event(4));
    for (let attempt = 0; attempt < 10 && writer.pending > 0; attempt++) {
      await writer.flush();
    }
    expect(writer.pending).toBe(0);
    const written = batches.filter((bundle) => bundle.type === 'batch').flatMap((bundle) => bundle.entry ?? []);
    expect(written.filter((entry) => (entry.resource as AuditEvent).entity?.[0]?.what?.reference === 'Patient/p2')).toHaveLength(MAX_ENTRY_ATTEMPTS);
    expect(written.some((entry) => (entry.resource as AuditEvent).entity?.[0]?.what?.reference === 'Patient/p4')).toBe(true);
  });

  test('text a client chose is written well-formed: a lone surrogate or a control character becomes U+FFFD, a long outcome is cut', async () => {
    const fhir = server([]);
    const writer = new AuditWriter(fhir.send, settings, logger, new Registry());
    writer.enqueue({ ...event(1), agent: [{ requestor: true, name: 'dr-\ud800x\nOUTCOME: 0' }], outcomeDesc: `bad _summary x\u0000${'y'.repeat(5000)}` });
    await writer.flush();
    const written = fhir.batches[0]?.entry?.[0]?.resource as AuditEvent;
    expect(written.agent[0]?.name).toBe('dr-\uFFFDx\uFFFDOUTCOME: 0');
    expect(written.outcomeDesc).toHaveLength(MAX_OUTCOME_DESC);
    expect(written.outcomeDesc?.startsWith('bad _summary x\uFFFDyyy')).toBe(true);
  });

  test('stop writes out what is queued before it resolves', async () => {
    const fhir = server(['down']);
    const writer = new AuditWriter(fhir.send, settings, logger, new Registry());
    writer.enqueue(event(1));
    await writer.stop();
    expect(writer.pending).toBe(0);
    expect(fhir.batches).toHaveLength(2);
  });

  test('stop fails loudly when the server never takes the events', async () => {
    const fhir = server(Array.from({ length: 100 }, () => 'down' as const));
    const writer = new AuditWriter(fhir.send, { ...settings, shutdownFlushMs: 300 }, logger, new Registry());
    writer.enqueue(event(1));
    await expect(writer.stop()).rejects.toThrow(/could not be written/);
  });

  test('past maxQueue, new events are dropped rather than memory growing; the writer says it is full (the faces refuse requests) until the server takes them', async () => {
    const fhir = server(['down']);
    const writer = new AuditWriter(fhir.send, { ...settings, batchSize: 1000, maxQueue: 2 }, logger, new Registry());
    writer.enqueue(event(0));
    expect(writer.isFull()).toBe(false);
    await expect(writer.readiness.probe()).resolves.toBeUndefined();
    for (let n = 1; n < 5; n++) {
      writer.enqueue(event(n));
    }
    expect(writer.pending).toBe(2);
    expect(writer.isFull()).toBe(true);
    await expect(writer.readiness.probe()).rejects.toThrow(/new requests are refused/);
    await writer.flush();
    expect(writer.isFull()).toBe(true);
    await writer.flush();
    expect(writer.isFull()).toBe(false);
  });
});
