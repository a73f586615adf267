import { networkInterfaces } from 'node:os';
import { Registry } from 'prom-client';
import { createLogger } from './logger';
import { isLoopback, startOpsServer, type OpsServer } from './ops-server';

/** This host's own address on a real interface: a request to it does not come from loopback. */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((entry) => entry && !entry.internal && entry.family === 'IPv4')?.address;

const TOKEN = 'an-ops-token-of-at-least-32-characters';
let server: OpsServer;

beforeAll(async () => {
  server = await startOpsServer({ port: 0, host: '0.0.0.0', logger: createLogger('ops-test', 'silent'), metrics: new Registry(), readiness: [], opsToken: TOKEN });
});
afterAll(() => server.close());

const get = (host: string, path: string, token?: string) =>
  fetch(`http://${host}:${server.port}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

describe('the ops endpoints', () => {
  it.each(['/healthz', '/readyz', '/metrics'])('answer %s on this host (loopback)', async (path) => {
    expect((await get('127.0.0.1', path)).status).toBe(200);
  });

  const fromOutside = outsideAddress ? describe : describe.skip;
  fromOutside('from another address', () => {
    it('answer /healthz, which says nothing but “alive”', async () => {
      expect((await get(outsideAddress!, '/healthz')).status).toBe(200);
    });
    it.each(['/readyz', '/metrics'])('hide %s without the ops token, or with a wrong one', async (path) => {
      expect((await get(outsideAddress!, path)).status).toBe(404);
      expect((await get(outsideAddress!, path, `${TOKEN}x`)).status).toBe(404);
    });
    it.each(['/readyz', '/metrics'])('answer %s with the ops token', async (path) => {
      expect((await get(outsideAddress!, path, TOKEN)).status).toBe(200);
    });
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['192.0.2.2', false],
    ['::ffff:10.0.0.1', false],
    ['fd00::2', false],
    [undefined, false],
  ])('%s → %s', (address, expected) => {
    expect(isLoopback(address)).toBe(expected);
  });
});
