import { startGateway, type Gateway } from '../../test-support/harness';

/** What HAPI's own messages carry, and ours must never: message ids, Java packages, the internal base. */
const HAPI_INTERNALS = /HAPI-\d|ca\.uhn|java\.|hibernate|localhost:8080|127\.0\.0\.1:8080/i;

describe('errors of the FHIR server reach the client in the gateway\'s own words', () => {
  let gateway: Gateway;
  let token: string;

  beforeAll(async () => {
    gateway = await startGateway();
    token = await gateway.token('user/*.rs');
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  test.each([
    ['an unknown search parameter', 'ImagingStudy?not-a-param=x', 400, /^Unknown search parameter for this resource type/],
    ['a date parameter given a name', 'ImagingStudy?started=Smith', 400, /not in the format its parameter needs/],
    ['an unknown _sort', 'ImagingStudy?_sort=bogus', 400, /_sort value/],
    ['an unknown modifier', 'ImagingStudy?patient:bogus=x', 400, /search modifier/],
    ['a _count that is no number', 'ImagingStudy?_count=abc', 400, /_count must be a whole number/],
    ['a page that does not exist', '?_getpages=no-such-search', 410, /run the search again/],
    ['an unknown resource type', 'NotAType?x=1', 404, /NotAType is not served/],
    ['an unknown resource type, read', 'NotAType/1', 404, /is not known/],
    ['a malformed id', 'ImagingStudy/bad$id', 404, /is not known/],
    ['an id that is too long', `ImagingStudy/${'a'.repeat(65)}`, 404, /is not known/],
  ])('%s', async (_situation, path, status, text) => {
    const response = await gateway.get(path, token);
    expect(response.status).toBe(status);
    expect(response.body.resourceType).toBe('OperationOutcome');
    expect(response.body.issue[0].diagnostics).toMatch(text);
    expect(JSON.stringify(response.body)).not.toMatch(HAPI_INTERNALS);
  });

  test('the operator finds HAPI\'s message id in the log, without the value the search carried', async () => {
    const marker = `Zorglub${Date.now()}`;
    expect((await gateway.get(`ImagingStudy?started=${marker}`, token)).status).toBe(400);
    const logs = gateway.process.logs();
    expect(logs).toMatch(/"upstreamMessageIds":\["HAPI-1940"\]/);
    expect(logs).not.toContain(marker);
  });
});
