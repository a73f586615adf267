import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { Registry } from 'prom-client';
import { createLogger } from '@imaging-facade/service-kit';
import { AuditWriter, type BatchSender } from './audit-writer';

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
function server(answers: Array<string[] | 'down' | 'refused'>): { send: BatchSender; batches: Bundle[] } {
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
    expect(fhir.batches[0]?.entry?.[0]?.request).toEqual({ method: 'POST', url: 'AuditEvent' });
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

  test('past maxQueue, new events are dropped rather than memory growing', () => {
    const fhir = server([]);
    const writer = new AuditWriter(fhir.send, { ...settings, batchSize: 1000, maxQueue: 2 }, logger, new Registry());
    for (let n = 0; n < 5; n++) {
      writer.enqueue(event(n));
    }
    expect(writer.pending).toBe(2);
  });
});
