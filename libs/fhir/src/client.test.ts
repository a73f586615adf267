import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFhirClient, toFhirError } from './client';
import { FhirError, isRetryableFhirError } from './errors';

/** A stand-in FHIR server on a free local port: each test says how it answers. */
let server: Server;
let baseUrl: string;
let answer: (req: IncomingMessage, res: ServerResponse) => void;
const seen: Array<{ method?: string; url?: string; headers: IncomingMessage['headers']; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
});

const json = (status: number, body: unknown) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/fhir+json' }).end(JSON.stringify(body));
};

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('the FHIR client', () => {
  it('searches one page without the server cache, asking it not to store the search, and keeps only the resources of the type asked', async () => {
    answer = json(200, {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [
        { resource: { resourceType: 'Patient', id: '1' } },
        { resource: { resourceType: 'OperationOutcome' }, search: { mode: 'outcome' } },
      ],
    });
    const client = createFhirClient({ baseUrl, timeoutMs: 2000 });
    const found = await client.search('Patient', { identifier: 'urn:x|A\\|1' });
    expect(found).toEqual([{ resourceType: 'Patient', id: '1' }]);
    expect(seen[0]?.url).toBe('/fhir/Patient?identifier=urn%3Ax%7CA%5C%7C1');
    expect(seen[0]?.headers['cache-control']).toBe('no-store');
  });

  it('follows the next links until the last page, without the server cache', async () => {
    answer = (req, res) => {
      const page = new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? '1';
      const next = page === '1' ? [{ relation: 'next', url: `${baseUrl}?_getpages=abc&page=2` }] : [];
      json(200, {
        resourceType: 'Bundle',
        type: 'searchset',
        link: next,
        entry: [{ resource: { resourceType: 'Consent', id: `c${page}` } }, { resource: { resourceType: 'Patient', id: 'p' }, search: { mode: 'include' } }],
      })(req, res);
    };
    const client = createFhirClient({ baseUrl, timeoutMs: 2000 });
    const found: string[] = [];
    for await (const consent of client.searchAll('Consent', { status: 'active' })) {
      found.push(consent.id ?? '');
    }
    expect(found).toEqual(['c1', 'c2']);
    expect(seen.map((request) => request.url)).toEqual(['/fhir/Consent?status=active', '/fhir?_getpages=abc&page=2']);
    expect(seen.every((request) => request.headers['cache-control'] === 'no-cache')).toBe(true);
  });

  it('posts a transaction to the base URL', async () => {
    answer = json(200, { resourceType: 'Bundle', type: 'transaction-response', entry: [] });
    const client = createFhirClient({ baseUrl: `${baseUrl}/`, timeoutMs: 2000 });
    await client.transaction({ resourceType: 'Bundle', type: 'transaction', entry: [] });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/fhir/' });
    expect(JSON.parse(seen[0]!.body)).toEqual({ resourceType: 'Bundle', type: 'transaction', entry: [] });
  });

  it('asks for metadata anew on every call', async () => {
    answer = json(200, { resourceType: 'CapabilityStatement' });
    const client = createFhirClient({ baseUrl, timeoutMs: 2000 });
    await client.metadata();
    await client.metadata();
    expect(seen.map((request) => request.url)).toEqual(['/fhir/metadata', '/fhir/metadata']);
  });

  it('turns a 400 into a permanent FhirError carrying the diagnostics but not the query', async () => {
    answer = json(400, {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', diagnostics: 'HAPI-1821: bad identifier' }],
    });
    const client = createFhirClient({ baseUrl, timeoutMs: 2000 });
    const error = await failure(client.search('Patient', { identifier: 'urn:x|SECRET-PID' }));
    expect(error).toBeInstanceOf(FhirError);
    expect((error as FhirError).status).toBe(400);
    expect((error as FhirError).message).toBe('FHIR GET /Patient: HTTP 400: HAPI-1821: bad identifier');
    expect(isRetryableFhirError(error)).toBe(false);
  });

  it.each([409, 412, 429, 500, 503])('turns a %s into a retryable FhirError', async (status) => {
    answer = json(status, {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'conflict', diagnostics: 'x' }],
    });
    const client = createFhirClient({ baseUrl, timeoutMs: 2000 });
    const error = await failure(client.transaction({ resourceType: 'Bundle', type: 'transaction' }));
    expect((error as FhirError).status).toBe(status);
    expect(isRetryableFhirError(error)).toBe(true);
  });

  it('turns an answer that is not JSON into a FhirError with its status', async () => {
    answer = (_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
    const client = createFhirClient({ baseUrl, timeoutMs: 2000 });
    const error = await failure(client.metadata());
    expect((error as FhirError).message).toBe('FHIR GET /metadata: HTTP 502');
    expect(isRetryableFhirError(error)).toBe(true);
  });

  it('turns a refused connection into a retryable FhirError', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const client = createFhirClient({ baseUrl: `http://127.0.0.1:${port}/fhir`, timeoutMs: 2000 });
    const error = await failure(client.metadata());
    expect(error).toBeInstanceOf(FhirError);
    expect((error as FhirError).status).toBeUndefined();
    expect((error as FhirError).message).toMatch(/no response .*ECONNREFUSED/);
    expect(isRetryableFhirError(error)).toBe(true);
  });

  it('turns a server that does not answer in time into a retryable FhirError', async () => {
    answer = () => undefined; // never answers
    const client = createFhirClient({ baseUrl, timeoutMs: 200 });
    const error = await failure(client.metadata());
    expect((error as FhirError).status).toBeUndefined();
    expect(isRetryableFhirError(error)).toBe(true);
  });
});

describe('toFhirError', () => {
  it.each<[string, unknown, number | undefined | 'unchanged']>([
    ['an HTTP error of fhir-kit-client', { response: { status: 404, data: {} } }, 404],
    [
      'a fetch that got no response',
      Object.assign(new TypeError('fetch failed'), { cause: new Error('other side closed') }),
      undefined,
    ],
    ['a timeout', new DOMException('The operation was aborted due to timeout', 'TimeoutError'), undefined],
    ['a bug: passed on as it is', new TypeError('cannot read properties of undefined'), 'unchanged'],
  ])('%s', (_situation, error, status) => {
    const converted = toFhirError(error, 'FHIR GET /x');
    if (status === 'unchanged') {
      expect(converted).toBe(error);
    } else {
      expect(converted).toBeInstanceOf(FhirError);
      expect((converted as FhirError).status).toBe(status);
    }
  });
});
