import { randomUUID } from 'node:crypto';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { Registry } from 'prom-client';
import { Upstream } from '@imaging-facade/fhir';
import { createLogger } from '@imaging-facade/service-kit';
import { AuditWriter } from './audit-writer';

/**
 * The audit writer against the real FHIR server (HAPI): text a client chose that HAPI fails on
 * (a lone UTF-16 surrogate in an indexed element answered a 500 that held every later event back)
 * is written, and a batch sent twice records each access once.
 */

const FHIR_BASE_URL = process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';
const upstream = new Upstream({ baseUrl: FHIR_BASE_URL, timeoutMs: 30_000, connections: 2 });
const settings = { batchSize: 10, flushIntervalMs: 60_000, maxQueue: 100, shutdownFlushMs: 5000 };

const event = (marker: string, name: string): AuditEvent => ({
  resourceType: 'AuditEvent',
  type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
  action: 'R',
  recorded: new Date().toISOString(),
  outcome: '0',
  agent: [{ requestor: true, name, who: { identifier: { value: marker } } }],
  source: { observer: { display: 'audit-writer.int.test' } },
});

async function writtenFor(marker: string): Promise<AuditEvent[]> {
  const response = await upstream.request('GET', `AuditEvent?agent-name=${encodeURIComponent(marker)}&_count=50`, { headers: { 'cache-control': 'no-cache' } });
  return ((response.body as Bundle).entry ?? []).map((entry) => entry.resource as AuditEvent);
}

test('a lone surrogate in a token\'s subject is written as U+FFFD, and the events queued behind it are written too', async () => {
  const marker = `probe-${randomUUID().slice(0, 8)}`;
  const writer = new AuditWriter(AuditWriter.toFhir(upstream), settings, createLogger('test', 'silent'), new Registry());
  writer.enqueue(event(marker, `${marker} dr-\ud800x`));
  writer.enqueue(event(marker, `${marker} after`));
  await writer.stop();
  const names = (await writtenFor(marker)).map((written) => written.agent[0]?.name).sort();
  expect(names).toEqual([`${marker} after`, `${marker} dr-\uFFFDx`]);
});

test('a batch sent again (its answer lost) records each access once', async () => {
  const marker = `probe-${randomUUID().slice(0, 8)}`;
  let sends = 0;
  const twice = async (bundle: Bundle) => {
    sends++;
    const answer = await AuditWriter.toFhir(upstream)(bundle);
    // The first answer is lost on the way back, as on a timeout: the writer sends the batch again.
    return sends === 1 ? { status: 504, body: {} } : answer;
  };
  const writer = new AuditWriter(twice, settings, createLogger('test', 'silent'), new Registry());
  writer.enqueue(event(marker, `${marker} one`));
  writer.enqueue(event(marker, `${marker} two`));
  await writer.stop();
  expect(sends).toBeGreaterThanOrEqual(2);
  expect((await writtenFor(marker)).map((written) => written.agent[0]?.name).sort()).toEqual([`${marker} one`, `${marker} two`]);
});

afterAll(() => upstream.close());
