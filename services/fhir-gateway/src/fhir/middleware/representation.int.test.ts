import { freePort } from '../../../../../test/support/ports';
import { newUid } from '../../../../../test/support/uids';
import { fhirTransaction, patientEntry, startGateway, studyEntry, type Gateway } from '../../test-support/harness';

/**
 * Every answer that carries patient data, or says whether some exists, is `Cache-Control: no-store`;
 * `_format` is honoured (JSON) or refused (406) alike on every interaction.
 */
describe('the gateway\'s representation: no-store on patient data, _format JSON only', () => {
  let gateway: Gateway;
  let token: string;
  let hookPort: number;
  const run = newUid().slice(-8);
  const ids = { patient: '', study: '' };

  beforeAll(async () => {
    const [patient, study] = await fhirTransaction([
      patientEntry('urn:uuid:00000000-0000-4000-8000-0000000000cc', `NS-${run}`),
      studyEntry('urn:uuid:00000000-0000-4000-8000-0000000000cc', newUid()),
      studyEntry('urn:uuid:00000000-0000-4000-8000-0000000000cc', newUid()),
    ]);
    ids.patient = (patient as string).split('/')[1] as string;
    ids.study = (study as string).split('/')[1] as string;
    hookPort = await freePort();
    gateway = await startGateway({ GATEWAY_SUBSCRIPTION_ALLOWED_ENDPOINTS: `https://localhost:${hookPort}`, GATEWAY_SUBSCRIPTION_ALLOWED_ADDRESSES: '127.0.0.1,::1' });
    token = await gateway.token('user/*.rs user/Subscription.crds', { clientId: `ns-${run}` });
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  test('reads, searches, pages, Subscriptions and refusals are no-store', async () => {
    const read = await gateway.get(`ImagingStudy/${ids.study}`, token);
    expect([read.status, read.headers.get('cache-control')]).toEqual([200, 'no-store']);
    const search = await gateway.get(`ImagingStudy?patient=Patient/${ids.patient}&_count=1`, token);
    expect([search.status, search.headers.get('cache-control')]).toEqual([200, 'no-store']);
    const next = (search.body.link as Array<{ relation: string; url: string }>).find((link) => link.relation === 'next');
    expect(next).toBeDefined();
    const page = await gateway.get(next?.url as string, token);
    expect([page.status, page.headers.get('cache-control')]).toEqual([200, 'no-store']);
    expect(page.body.entry).toHaveLength(1);

    const made = await gateway.send('POST', 'Subscription', token, {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'no-store test',
      criteria: `ImagingStudy?patient=Patient/${ids.patient}`,
      channel: { type: 'rest-hook', endpoint: `https://localhost:${hookPort}/hook` },
    });
    expect([made.status, made.headers.get('cache-control')]).toEqual([201, 'no-store']);
    const subscription = await gateway.get(`Subscription/${made.body.id}`, token);
    expect([subscription.status, subscription.headers.get('cache-control')]).toEqual([200, 'no-store']);
    const listed = await gateway.get('Subscription', token);
    expect([listed.status, listed.headers.get('cache-control')]).toEqual([200, 'no-store']);
    const deleted = await gateway.send('DELETE', `Subscription/${made.body.id}`, token);
    expect([deleted.status, deleted.headers.get('cache-control')]).toEqual([204, 'no-store']);

    const unknown = await gateway.get('ImagingStudy/does-not-exist', token);
    expect([unknown.status, unknown.headers.get('cache-control')]).toEqual([404, 'no-store']);
    const anonymous = await gateway.get(`ImagingStudy/${ids.study}`);
    expect([anonymous.status, anonymous.headers.get('cache-control')]).toEqual([401, 'no-store']);
  });

  test('without a token, a request for XML is a 401 like any other: nothing is said before the token', async () => {
    for (const path of [`ImagingStudy/${ids.study}?_format=xml`, `ImagingStudy?patient=Patient/${ids.patient}&_format=xml`, 'Subscription?_format=xml']) {
      const anonymous = await gateway.get(path);
      expect([anonymous.status, anonymous.body.resourceType]).toEqual([401, 'OperationOutcome']);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    // A body is read only once the caller is known: a stranger's 1 MB Subscription is a 401, not a 413.
    const large = await gateway.send('POST', 'Subscription', undefined, { resourceType: 'Subscription', reason: 'x'.repeat(1_000_000) });
    expect([large.status, large.body.resourceType]).toEqual([401, 'OperationOutcome']);
  });

  test.each([
    ['a read', () => `ImagingStudy/${ids.study}`],
    ['a search', () => `ImagingStudy?patient=Patient/${ids.patient}`],
    ['the Subscriptions', () => 'Subscription'],
    ['the capability statement', () => 'metadata'],
  ])('%s: _format=json and application/fhir+json are honoured, xml is a 406 OperationOutcome', async (_situation, path) => {
    const join = path().includes('?') ? '&' : '?';
    for (const format of ['json', 'application%2Ffhir%2Bjson']) {
      const honoured = await gateway.get(`${path()}${join}_format=${format}`, token);
      expect(honoured.status).toBe(200);
      expect(honoured.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    }
    for (const format of ['xml', 'application%2Ffhir%2Bxml', 'html']) {
      const refused = await gateway.get(`${path()}${join}_format=${format}`, token);
      expect(refused.status).toBe(406);
      expect(refused.body.resourceType).toBe('OperationOutcome');
      expect(refused.body.issue[0].code).toBe('not-supported');
      expect(refused.body.issue[0].diagnostics).toMatch(/answers are JSON only/);
    }
  });

  test('a page link with _format=xml is refused too', async () => {
    const search = await gateway.get(`ImagingStudy?patient=Patient/${ids.patient}&_count=1`, token);
    const next = (search.body.link as Array<{ relation: string; url: string }>).find((link) => link.relation === 'next')?.url as string;
    expect((await gateway.get(`${next}&_format=xml`, token)).status).toBe(406);
  });
});
