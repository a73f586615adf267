import { freePort } from '../../../../test/support/ports';
import { startGateway, type Gateway } from '../test-support/harness';

const subscription = (endpoint: string) => ({
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'tell me about new studies',
  criteria: 'ImagingStudy?status=available',
  channel: { type: 'rest-hook', endpoint },
});

/**
 * Outside development a rest-hook may only point at an allowed https origin whose addresses are
 * public or explicitly allowed: never this node's own services (the FHIR server, Kafka's admin,
 * the ops ports) nor the cloud's metadata service.
 */
describe('Subscription endpoints outside development (server-side request forgery)', () => {
  let gateway: Gateway;
  let port: number;
  const created: string[] = [];

  beforeAll(async () => {
    port = await freePort();
    gateway = await startGateway({
      FACADE_ENV: 'test',
      GATEWAY_SUBSCRIPTION_ALLOWED_ENDPOINTS: [`https://localhost:${port}`, `https://127.0.0.2:${port}`, 'https://169.254.169.254', 'https://*.localhost'].join(','),
      GATEWAY_SUBSCRIPTION_ALLOWED_ADDRESSES: '127.0.0.1,::1',
    });
  });

  afterAll(async () => {
    const app = await gateway?.token('system/Subscription.crd system/ImagingStudy.rs', { clientId: 'ssrf-tests' });
    for (const id of created) {
      await gateway?.send('DELETE', `Subscription/${id}`, app);
    }
    await gateway?.stop();
  });

  test('an allowed https origin whose host resolves to an allowed address is accepted', async () => {
    const app = await gateway.token('system/Subscription.crd system/ImagingStudy.rs', { clientId: 'ssrf-tests' });
    const made = await gateway.send('POST', 'Subscription', app, subscription(`https://localhost:${port}/hook`));
    expect(made.status).toBe(201);
    created.push(made.body.id);
    expect(made.body.channel.endpoint).toBe(`https://localhost:${port}/hook`);
  });

  test.each([
    ['plain http to this node', () => `http://127.0.0.1:${port}/hook`, /https/],
    ['the FHIR server behind the gateway', () => 'http://localhost:8080/fhir/Patient', /https/],
    ['an https origin not on the list', () => 'https://example.org/hook', /list of allowed subscription endpoints/],
    ['loopback as one decimal number', () => `https://2130706433:${port}/`, /list of allowed subscription endpoints/],
    ['loopback in hexadecimal', () => `https://0x7f.1:${port}/`, /list of allowed subscription endpoints/],
    ['user information naming an allowed host', () => `https://localhost:${port}@127.0.0.1:${port}/`, /user name or password/],
    ['an allowed origin on a loopback address that is not allowed', () => `https://127.0.0.2:${port}/`, /loopback/],
    ['an allowed origin on the metadata address', () => 'https://169.254.169.254/latest/meta-data/', /link-local/],
    ['an allowed *. name that does not resolve', () => 'https://nowhere.invalid.localhost/', /loopback|does not resolve/],
  ])('%s is a 422 OperationOutcome that says why, and nothing is stored', async (_situation, endpoint, reason) => {
    const app = await gateway.token('system/Subscription.crds system/ImagingStudy.rs', { clientId: 'ssrf-refused' });
    const refused = await gateway.send('POST', 'Subscription', app, subscription(endpoint()));
    expect(refused.status).toBe(422);
    expect(refused.body.resourceType).toBe('OperationOutcome');
    expect(refused.body.issue[0].code).toBe('business-rule');
    expect(refused.body.issue[0].expression).toEqual(['Subscription.channel.endpoint']);
    expect(refused.body.issue[0].diagnostics).toMatch(reason);
    expect((await gateway.get('Subscription', app)).body.entry ?? []).toEqual([]);
  });
});
