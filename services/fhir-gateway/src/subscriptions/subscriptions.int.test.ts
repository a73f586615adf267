import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '../../../../test/support/wait';
import { newUid } from '../../../../test/support/uids';
import { fhirTransaction, patientEntry, startGateway, studyEntry, type Gateway } from '../test-support/harness';

interface Notification {
  path: string;
  at: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * A real HTTP receiver on a free loopback port: the subscriber's endpoint. A path starting with
 * `/flaky-` answers 503 to its first two notifications, as a receiver being deployed would.
 */
async function startReceiver(): Promise<{ url: string; received: Notification[]; stop: () => Promise<void> }> {
  const received: Notification[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', at: Date.now(), body, headers: req.headers });
      const path = req.url ?? '';
      res.statusCode = path.startsWith('/flaky-') && received.filter((n) => n.path === path).length <= 2 ? 503 : 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const subscription = (criteria: string, endpoint: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'tell me about new studies',
  criteria,
  channel: { type: 'rest-hook', endpoint, header: ['X-Subscriber-Secret: s3cret'], ...extra },
});

describe('Subscriptions through the gateway', () => {
  let gateway: Gateway;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const run = newUid().slice(-8);
  const patients = { a: '', b: '' };
  const created: string[] = [];

  beforeAll(async () => {
    const locations = await fhirTransaction([
      patientEntry('urn:uuid:00000000-0000-4000-8000-0000000000aa', `SA-${run}`),
      patientEntry('urn:uuid:00000000-0000-4000-8000-0000000000bb', `SB-${run}`),
    ]);
    [patients.a, patients.b] = locations.map((location) => location.split('/')[1] as string);
    // Development: the receiver is on this machine, which outside development is refused (subscription-endpoints.int.test.ts).
    gateway = await startGateway({ FACADE_ENV: 'development' });
    receiver = await startReceiver();
  });

  afterAll(async () => {
    const system = await gateway?.token('system/Subscription.crd system/*.rs');
    for (const id of created) {
      await gateway?.send('DELETE', `Subscription/${id}`, system);
    }
    await receiver?.stop();
    await gateway?.stop();
  });

  test('a subscriber is notified within 10 s of a matching study, and a patient app only about its own patient', async () => {
    const allApp = await gateway.token('system/Subscription.crd system/ImagingStudy.rs', { clientId: `all-${run}` });
    const patientApp = await gateway.token('patient/Subscription.crd patient/ImagingStudy.rs', { clientId: `pa-${run}`, patient: patients.a });

    const forAll = await gateway.send('POST', 'Subscription', allApp, subscription('ImagingStudy?status=available', `${receiver.url}/all-${run}`));
    expect(forAll.status).toBe(201);
    expect(forAll.headers.get('location')).toMatch(new RegExp(`^${gateway.base}/Subscription/`));
    const forA = await gateway.send('POST', 'Subscription', patientApp, subscription('ImagingStudy?status=available', `${receiver.url}/a-${run}`));
    expect(forA.status).toBe(201);
    expect(forA.body.criteria).toBe(`ImagingStudy?status=available&patient=Patient%2F${patients.a}`);
    created.push(forAll.body.id, forA.body.id);

    // HAPI activates new subscriptions asynchronously: wait until both are active.
    await eventually(
      async () => {
        const states = await Promise.all([gateway.get(`Subscription/${forAll.body.id}`, allApp), gateway.get(`Subscription/${forA.body.id}`, patientApp)]);
        return states.every((state) => state.body.status === 'active') ? true : undefined;
      },
      { timeoutMs: 20_000, what: 'the subscriptions to be active' },
    );

    // B's study: the back-end app hears of it, patient A's app must not.
    await fhirTransaction([studyEntry(`Patient/${patients.b}`, newUid())]);
    await eventually(async () => (receiver.received.some((n) => n.path === `/all-${run}`) ? true : undefined), { timeoutMs: 10_000, what: 'the notification of B\'s study' });

    // A's study: both hear of it, within 10 s of its being stored.
    const stored = Date.now();
    await fhirTransaction([studyEntry(`Patient/${patients.a}`, newUid())]);
    const notified = await eventually(async () => receiver.received.find((n) => n.path === `/a-${run}`), { timeoutMs: 10_000, what: 'the notification of A\'s study' });
    expect(notified.at - stored).toBeLessThan(10_000);
    await eventually(async () => (receiver.received.filter((n) => n.path === `/all-${run}`).length >= 2 ? true : undefined), { timeoutMs: 10_000, what: 'the second notification' });

    const toA = receiver.received.filter((n) => n.path === `/a-${run}`);
    expect(toA).toHaveLength(1);
    // The notification carries nothing: the subscriber reads through the gateway with its token.
    for (const notification of receiver.received) {
      expect(notification.body).toBe('');
    }
    expect(toA[0]?.headers['x-subscriber-secret']).toBe('s3cret');
  });

  test('a notification with a resource payload is refused: it would bypass scopes, consent and audit', async () => {
    const app = await gateway.token('system/Subscription.crd system/ImagingStudy.rs');
    const response = await gateway.send('POST', 'Subscription', app, subscription('ImagingStudy?status=available', `${receiver.url}/x`, { payload: 'application/fhir+json' }));
    expect(response.status).toBe(400);
    expect(response.body.issue[0].expression).toEqual(['Subscription.channel.payload']);
  });

  test('a patient app cannot subscribe to another patient, nor without the scopes to search', async () => {
    const patientApp = await gateway.token('patient/Subscription.crd patient/ImagingStudy.rs', { patient: patients.a });
    expect((await gateway.send('POST', 'Subscription', patientApp, subscription(`ImagingStudy?patient=Patient/${patients.b}`, `${receiver.url}/x`))).status).toBe(403);
    const noSearch = await gateway.token('system/Subscription.crd');
    expect((await gateway.send('POST', 'Subscription', noSearch, subscription('ImagingStudy?status=available', `${receiver.url}/x`))).status).toBe(403);
    const noCreate = await gateway.token('system/Subscription.rd system/ImagingStudy.rs');
    expect((await gateway.send('POST', 'Subscription', noCreate, subscription('ImagingStudy?status=available', `${receiver.url}/x`))).status).toBe(403);
  });

  test('only its owner reads and deletes a Subscription; to anyone else it does not exist', async () => {
    const owner = await gateway.token('system/Subscription.crds system/ImagingStudy.rs', { clientId: `owner-${run}` });
    const other = await gateway.token('system/Subscription.crds system/ImagingStudy.rs', { clientId: `other-${run}` });
    const made = await gateway.send('POST', 'Subscription', owner, subscription('ImagingStudy?status=available', `${receiver.url}/owned`));
    expect(made.status).toBe(201);
    const id = made.body.id as string;

    expect((await gateway.get(`Subscription/${id}`, owner)).status).toBe(200);
    expect((await gateway.get(`Subscription/${id}`, other)).status).toBe(404);
    expect((await gateway.send('DELETE', `Subscription/${id}`, other)).status).toBe(404);
    const mine = await gateway.get('Subscription', owner);
    expect(mine.body.entry.map((entry: any) => entry.resource.id)).toContain(id);
    expect((await gateway.get('Subscription', other)).body.entry ?? []).toEqual([]);

    expect((await gateway.send('DELETE', `Subscription/${id}`, owner)).status).toBe(204);
    expect((await gateway.get(`Subscription/${id}`, owner)).status).toBe(404);
  });

  test('a Subscription carrying an extension is refused with a 400 naming it, and nothing is stored: HAPI would act on its payload-search extension, posting any search\'s results to the endpoint', async () => {
    const patientApp = await gateway.token('patient/Subscription.crd patient/ImagingStudy.rs', { clientId: `leak-${run}`, patient: patients.a });
    const endpoint = `${receiver.url}/leak-${run}`;
    const leaking = {
      ...subscription('ImagingStudy?status=available', endpoint),
      extension: [{ url: 'http://hapifhir.io/fhir/StructureDefinition/subscription-payload-search-criteria', valueString: `Patient?_id=${patients.b}` }],
    };
    const response = await gateway.send('POST', 'Subscription', patientApp, leaking);
    expect(response.status).toBe(400);
    expect(response.body.issue[0].expression).toEqual(['Subscription.extension']);
    const onChannel = await gateway.send('POST', 'Subscription', patientApp, subscription('ImagingStudy?status=available', endpoint, { extension: [{ url: 'http://example.org/x', valueString: 'y' }] }));
    expect(onChannel.status).toBe(400);
    expect(onChannel.body.issue[0].expression).toEqual(['Subscription.channel.extension']);
    const stored = await (await fetch(`${process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir'}/Subscription?url=${encodeURIComponent(endpoint)}`, { headers: { 'cache-control': 'no-cache' } })).json();
    expect(stored.entry ?? []).toEqual([]);
  });

  test('criteria with no parameter (every new study) is stored as the server wants it; a result parameter is refused by name; the header values are never read back', async () => {
    const app = await gateway.token('system/Subscription.crds system/ImagingStudy.rs', { clientId: `every-${run}` });
    const every = await gateway.send('POST', 'Subscription', app, subscription('ImagingStudy', `${receiver.url}/every-${run}`));
    expect(every.status).toBe(201);
    created.push(every.body.id);
    expect(every.body.criteria).toBe('ImagingStudy?');
    expect(every.body.channel.header).toEqual(['X-Subscriber-Secret: (hidden: set when the Subscription was made)']);
    expect(JSON.stringify((await gateway.get(`Subscription/${every.body.id}`, app)).body)).not.toContain('s3cret');
    expect(JSON.stringify((await gateway.get('Subscription', app)).body)).not.toContain('s3cret');
    const sorted = await gateway.send('POST', 'Subscription', app, subscription('ImagingStudy?_sort=date', `${receiver.url}/sorted-${run}`));
    expect(sorted.status).toBe(400);
    expect(sorted.body.issue[0].expression).toEqual(['Subscription.criteria']);
    await eventually(async () => ((await gateway.get(`Subscription/${every.body.id}`, app)).body.status === 'active' ? true : undefined), { timeoutMs: 20_000, what: 'the subscription active' });
  });

  test('an endpoint that answers 503 (a receiver being deployed) gets the notification again until it takes it: HAPI alone would have dropped it', async () => {
    const app = await gateway.token('system/Subscription.crd system/ImagingStudy.rs', { clientId: `flaky-${run}` });
    const made = await gateway.send('POST', 'Subscription', app, subscription(`ImagingStudy?patient=Patient/${patients.b}`, `${receiver.url}/flaky-${run}`));
    expect(made.status).toBe(201);
    created.push(made.body.id);
    await eventually(async () => ((await gateway.get(`Subscription/${made.body.id}`, app)).body.status === 'active' ? true : undefined), { timeoutMs: 20_000, what: 'the subscription active' });
    await fhirTransaction([studyEntry(`Patient/${patients.b}`, newUid())]);
    // Two 503s, then taken (the launcher's SubscriptionDelivery.java makes HAPI send it again).
    await eventually(async () => (receiver.received.filter((n) => n.path === `/flaky-${run}`).length >= 3 ? true : undefined), { timeoutMs: 60_000, what: 'the notification taken on its third delivery' });
  }, 90_000);
});
