import express, { type RequestHandler } from 'express';
import { outcomeErrorHandler } from '@imaging-facade/fhir-outcomes';
import { createLogger } from '@imaging-facade/service-kit';
import { fakeVerifier } from './test-support/fake-verifier';
import { getFrom, serveOnLoopback, type LoopbackServer } from '../../../test/support/http-from';
import { authenticateBearer, failedTokenCounter, type FailedTokens } from './bearer';

const logger = createLogger('bearer-test', 'silent');
const verifier = fakeVerifier({ issuer: 'https://issuer.example', clientId: 'app', scopes: [] });

/** A face whose one route answers who the token speaks for. */
function face(failedTokens?: FailedTokens): express.Express {
  const app = express();
  const whoAmI: RequestHandler = async (req, res) => {
    const who = await authenticateBearer(req, res, verifier, 'https://face.example', logger, failedTokens);
    res.json({ client: who.clientId });
  };
  app.get('/r', whoAmI);
  app.use(outcomeErrorHandler(logger));
  return app;
}

describe('authenticateBearer with failed tokens counted per client address', () => {
  let server: LoopbackServer;
  let url: string;

  beforeEach(async () => {
    server = await serveOnLoopback(face(failedTokenCounter({ perClient: 3, lockoutSeconds: 60 })));
    url = server.url('/r');
  });

  afterEach(async () => {
    await server.close();
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  test('bad tokens are 401 up to the limit; then the client gets 429 with Retry-After, even with a good token', async () => {
    for (let i = 0; i < 3; i++) {
      const refused = await getFrom('127.0.0.1', url, bearer('forged'));
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toContain('invalid_token');
    }
    const locked = await getFrom('127.0.0.1', url, bearer('forged'));
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(50);
    expect(locked.body.issue[0].code).toBe('throttled');
    expect((await getFrom('127.0.0.1', url, bearer('good'))).status).toBe(429);
  });

  test('another client address is not locked out by its neighbour', async () => {
    for (let i = 0; i < 4; i++) {
      await getFrom('127.0.0.1', url, bearer('forged'));
    }
    const other = await getFrom('127.0.0.2', url, bearer('good'));
    expect(other.status).toBe(200);
    expect(other.body).toEqual({ client: 'app' });
  });

  test('a malformed Authorization header counts as a failed token', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await getFrom('127.0.0.3', url, { authorization: 'Basic ZGVzazpkZXNr' })).status).toBe(401);
    }
    expect((await getFrom('127.0.0.3', url, bearer('good'))).status).toBe(429);
  });

  test.each([
    ['expired tokens (signed by the issuer: an honest app whose session ran out)', bearer('expired')],
    ['requests without a token', {}],
  ])('%s do not count', async (_case, headers) => {
    for (let i = 0; i < 6; i++) {
      expect((await getFrom('127.0.0.4', url, headers)).status).toBe(401);
    }
    expect((await getFrom('127.0.0.4', url, bearer('good'))).status).toBe(200);
  });

  test('without a counter nothing is limited (a face that does not ask for it)', async () => {
    const plain = await serveOnLoopback(face());
    try {
      for (let i = 0; i < 5; i++) {
        expect((await getFrom('127.0.0.1', plain.url('/r'), bearer('forged'))).status).toBe(401);
      }
    } finally {
      await plain.close();
    }
  });
});
