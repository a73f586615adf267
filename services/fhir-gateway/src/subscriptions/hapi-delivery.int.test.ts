import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '../../../../test/support/wait';
import { newUid } from '../../../../test/support/uids';
import { fhirTransaction, patientEntry, startGateway, studyEntry, type Gateway } from '../test-support/harness';

/** An HTTP listener on one loopback address that records what reaches it and answers as told. */
async function listen(host: string, answer: (path: string) => { status: number; location?: string }): Promise<{ url: string; hits: string[]; stop: () => Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    const { status, location } = answer(req.url ?? '');
    res.writeHead(status, location ? { location } : {});
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { url: `http://${host}:${(server.address() as AddressInfo).port}`, hits, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * HAPI delivers rest-hooks itself, resolving the endpoint again each time: the node's launcher
 * (deploy/local/hapi, SubscriptionDelivery.java) never follows a redirect and delivers only to
 * public addresses or HAPI_SUBSCRIPTION_ALLOWED_ADDRESSES (the local stack: 127.0.0.1 and ::1).
 * Through a gateway in development, which itself accepts any endpoint: HAPI's guard is what holds.
 */
describe('rest-hook delivery by the FHIR server: no redirect followed, no address outside the rule', () => {
  let gateway: Gateway;
  let target: Awaited<ReturnType<typeof listen>>;
  let elsewhere: Awaited<ReturnType<typeof listen>>;
  let hook: Awaited<ReturnType<typeof listen>>;
  const run = newUid().slice(-8);
  let patient = '';
  const created: string[] = [];

  beforeAll(async () => {
    [patient] = (await fhirTransaction([patientEntry('urn:uuid:00000000-0000-4000-8000-0000000000dd', `RD-${run}`)])).map((location) => location.split('/')[1] as string);
    target = await listen('127.0.0.1', () => ({ status: 200 }));
    // 127.0.0.2 is loopback outside the stack's allowance (127.0.0.1, ::1): HAPI must never connect there.
    elsewhere = await listen('127.0.0.2', () => ({ status: 200 }));
    hook = await listen('127.0.0.1', (path) => {
      const [, code, where] = /^\/(\d{3})\/(allowed|refused)/.exec(path) ?? [];
      return code ? { status: Number(code), location: `${where === 'allowed' ? target.url : elsewhere.url}/after-${code}` } : { status: 200 };
    });
    gateway = await startGateway({ FACADE_ENV: 'development' });
  });

  afterAll(async () => {
    const app = await gateway?.token('system/Subscription.crd system/ImagingStudy.rs', { clientId: `rd-${run}` });
    for (const id of created) {
      await gateway?.send('DELETE', `Subscription/${id}`, app);
    }
    await Promise.all([gateway?.stop(), hook?.stop(), target?.stop(), elsewhere?.stop()]);
  });

  test('a 301, 302, 303, 307 or 308 from the endpoint is not followed, to an allowed or a refused address; an endpoint on a refused address gets nothing', async () => {
    const app = await gateway.token('system/Subscription.crd system/ImagingStudy.rs', { clientId: `rd-${run}` });
    const endpoints = [
      ...[301, 302, 303, 307, 308].flatMap((code) => [`${hook.url}/${code}/allowed`, `${hook.url}/${code}/refused`]),
      `${elsewhere.url}/direct`,
      `${hook.url}/plain`,
    ];
    for (const endpoint of endpoints) {
      const made = await gateway.send('POST', 'Subscription', app, {
        resourceType: 'Subscription',
        status: 'requested',
        reason: 'redirect test',
        criteria: `ImagingStudy?patient=Patient/${patient}`,
        channel: { type: 'rest-hook', endpoint },
      });
      expect(made.status).toBe(201);
      created.push(made.body.id);
    }
    await eventually(
      async () => {
        const states = await Promise.all(created.map((id) => gateway.get(`Subscription/${id}`, app)));
        return states.every((state) => state.body.status === 'active') ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'the subscriptions to be active' },
    );
    await fhirTransaction([studyEntry(`Patient/${patient}`, newUid())]);
    // Every allowed endpoint is notified (the plain one proves delivery works)…
    await eventually(async () => (hook.hits.length >= 11 ? true : undefined), { timeoutMs: 20_000, what: 'the notifications to the hook' });
    expect(hook.hits.sort()).toEqual([...[301, 302, 303, 307, 308].flatMap((code) => [`POST /${code}/allowed`, `POST /${code}/refused`]), 'POST /plain'].sort());
    // …and, some seconds later, nothing has followed a redirect nor reached the refused address.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(target.hits).toEqual([]);
    expect(elsewhere.hits).toEqual([]);
  });
});

describe('Subscriptions written to the FHIR server directly, by any other writer than the gateway', () => {
  const base = process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';
  const post = (extra: Record<string, unknown>, channel: Record<string, unknown> = {}) =>
    fetch(`${base}/Subscription`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Subscription', status: 'requested', reason: 'guard', criteria: 'ImagingStudy?status=available', channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/guard', ...channel }, ...extra }),
    });

  test('the launcher refuses one that would send resources itself: the payload search extension, a payload (422); a plain one is created', async () => {
    const searching = await post({ extension: [{ url: 'http://hapifhir.io/fhir/StructureDefinition/subscription-payload-search-criteria', valueString: 'Patient?' }] });
    expect(searching.status).toBe(422);
    expect(JSON.stringify(await searching.json())).toContain('payload search extension');
    expect((await post({}, { payload: 'application/fhir+json' })).status).toBe(422);
    const plain = await post({});
    expect(plain.status).toBe(201);
    const { id } = (await plain.json()) as { id: string };
    expect((await fetch(`${base}/Subscription/${id}`, { method: 'DELETE' })).status).toBeLessThan(300);
  });
});

