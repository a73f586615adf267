import { createServer, type Server } from 'node:http';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { startGateway, type Gateway } from '../../services/fhir-gateway/src/test-support/harness';
import { storescu } from '../support/dcmtk';
import { studiesByUid } from '../support/fhir';
import { freePort } from '../support/ports';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { SAMPLES } from '../support/sample-files';
import { makeStudy, type GeneratedStudy } from '../support/study-factory';
import { eventually } from '../support/wait';

/**
 * End to end: a third-party app subscribes through the gateway with a token from the development
 * issuer; a study sent over DICOM goes through Kafka and the mapper into HAPI, whose rest-hook
 * notifies a real HTTP receiver. A subscriber whose token covers another patient hears nothing.
 */

interface Receiver {
  url: string;
  hits: Array<{ at: number; method: string; path: string; body: string }>;
  close: () => Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const port = await freePort();
  const hits: Receiver['hits'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      hits.push({ at: Date.now(), method: req.method ?? '', path: req.url ?? '', body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}/notify`,
    hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let pipeline: Pipeline;
let gateway: Gateway;
const receivers: Receiver[] = [];

beforeAll(async () => {
  pipeline = await startPipeline();
  // Development: the receivers are on this machine, which outside development is refused (fhir-gateway's subscription-endpoints.int.test.ts).
  gateway = await startGateway({ FACADE_ENV: 'development' });
});

afterAll(async () => {
  await Promise.all(receivers.map((receiver) => receiver.close()));
  await gateway?.stop();
  await pipeline?.stop();
});

async function publish(study: GeneratedStudy): Promise<{ storedAt: number; published: ImagingStudy }> {
  const result = await storescu(pipeline.dicomPort, study.files);
  expect(result.code).toBe(0);
  // storescu has returned: every instance has been answered, so the last one is stored.
  const storedAt = Date.now();
  const published = await eventually(async () => (await studiesByUid(study.studyInstanceUid))[0], {
    timeoutMs: 60_000,
    what: 'the study to be published',
  });
  return { storedAt, published };
}

async function subscribe(token: string, criteria: string, receiver: Receiver): Promise<string> {
  const created = await gateway.send('POST', 'Subscription', token, {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'e2e: notify me of new studies',
    criteria,
    channel: { type: 'rest-hook', endpoint: receiver.url },
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  await eventually(
    async () => ((await gateway.get(`Subscription/${id}`, token)).body?.status === 'active' ? true : undefined),
    { timeoutMs: 30_000, what: 'the Subscription to be active' },
  );
  return id;
}

test('a subscriber is notified within 10 s of the last instance being stored, and another patient\'s subscriber hears nothing', async () => {
  // Patient B exists in the index, with a study of its own, before anyone subscribes.
  const otherPatientsStudy = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 1 }]);
  const { published: otherPublished } = await publish(otherPatientsStudy);
  const otherPatientId = otherPublished.subject.reference?.split('/')[1] ?? '';

  const appReceiver = await startReceiver();
  const otherPatientsReceiver = await startReceiver();
  receivers.push(appReceiver, otherPatientsReceiver);

  // A back-end app watching new studies, and patient B's app watching B's studies.
  const study = await makeStudy([
    { source: SAMPLES.ctExplicitLittle, instances: 2 },
    { source: SAMPLES.mrExplicitLittle, instances: 1 },
  ]);
  const appToken = await gateway.token('system/Subscription.crud system/ImagingStudy.rs');
  await subscribe(appToken, `ImagingStudy?identifier=urn:oid:${study.studyInstanceUid}`, appReceiver);
  const patientToken = await gateway.token('patient/Subscription.crud patient/ImagingStudy.rs', { patient: otherPatientId });
  await subscribe(patientToken, 'ImagingStudy?status=available', otherPatientsReceiver);
  const patientHitsBefore = otherPatientsReceiver.hits.length;

  const { storedAt } = await publish(study);
  const notified = await eventually(async () => appReceiver.hits[0], { timeoutMs: 30_000, what: 'the notification' });
  const latencyMs = notified.at - storedAt;
  console.log(`notification ${latencyMs} ms after the last instance was stored`);
  expect(latencyMs).toBeLessThan(10_000);
  // No payload: the subscriber reads the study through the gateway, where its token's limits apply.
  expect(notified.body).toBe('');
  const read = await gateway.get(`ImagingStudy?identifier=urn:oid:${study.studyInstanceUid}`, appToken);
  expect(read.status).toBe(200);
  expect(read.body.entry).toHaveLength(1);

  // Well past HAPI's delivery delay, patient B's subscriber has still heard nothing of patient A.
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  expect(otherPatientsReceiver.hits.length).toBe(patientHitsBefore);
  const peek = await gateway.get(`ImagingStudy?identifier=urn:oid:${study.studyInstanceUid}`, patientToken);
  expect(peek.body.entry ?? []).toHaveLength(0);
});
