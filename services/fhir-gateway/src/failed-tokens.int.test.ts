import { generateKeyPair, SignJWT } from 'jose';
import { getFrom, loopbackAddress } from '../../../test/support/http-from';
import { eventually } from '../../../test/support/wait';
import { startGateway, type Gateway } from './test-support/harness';

/**
 * The gateway as a real process, its failed-token limit set low: a client address that keeps
 * presenting forged tokens is throttled and then locked out, every refusal is in the audit trail,
 * and an honest client elsewhere is served all along.
 */
describe('FHIR gateway: failed tokens are limited per client address', () => {
  let gateway: Gateway;
  // The attacker's address is this run's own, so that its AuditEvents are found by address alone.
  const attacker = loopbackAddress();
  const LIMIT = 3;

  beforeAll(async () => {
    gateway = await startGateway({ GATEWAY_MAX_FAILED_TOKENS_PER_CLIENT: String(LIMIT), GATEWAY_FAILED_TOKEN_LOCKOUT_SECONDS: '60' });
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  const forgedToken = async (): Promise<string> => {
    const { privateKey } = await generateKeyPair('RS256');
    return new SignJWT({ scope: 'system/*.rs' })
      .setProtectedHeader({ alg: 'RS256', kid: 'forged' })
      .setIssuer(`${gateway.origin}/oidc`)
      .setAudience(gateway.base)
      .setExpirationTime('5m')
      .sign(privateKey);
  };

  test('forged tokens are 401 until the limit, then 429 with Retry-After even with a good token; a good token from another client still works; every refusal is audited', async () => {
    const good = await gateway.token('user/ImagingStudy.rs', { clientId: 'honest-ehr' });
    const forged = await forgedToken();
    const url = `${gateway.base}/ImagingStudy?_count=1`;
    // Honest traffic before, from the attacker's address too: successes do not count.
    expect((await getFrom(attacker, url, { authorization: `Bearer ${good}` })).status).toBe(200);

    for (let i = 0; i < LIMIT; i++) {
      const refused = await getFrom(attacker, url, { authorization: `Bearer ${forged}` });
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toContain('invalid_token');
    }
    const throttled = await getFrom(attacker, url, { authorization: `Bearer ${forged}` });
    expect(throttled.status).toBe(429);
    const retryAfter = Number(throttled.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(throttled.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'throttled' }] });
    // Locked out: its good token too, and without any token.
    expect((await getFrom(attacker, url, { authorization: `Bearer ${good}` })).status).toBe(429);
    expect((await getFrom(attacker, url)).status).toBe(429);

    // Another client (the gateway's default test client, 127.0.0.1) is served with its token.
    const honest = await gateway.get('ImagingStudy?_count=1', good);
    expect(honest.status).toBe(200);
    expect(honest.body.resourceType).toBe('Bundle');

    // The audit trail: one AuditEvent per refusal, outcome 4 (failure), the attacker's address, why.
    const auditor = await gateway.token('user/AuditEvent.rs');
    const refusals = await eventually(
      async () => {
        const found = await gateway.get(`AuditEvent?address=${encodeURIComponent(attacker)}&outcome=4&_count=50`, auditor);
        const events = (found.body?.entry ?? []).map((entry: any) => entry.resource);
        return events.length >= LIMIT + 3 ? events : undefined;
      },
      { timeoutMs: 20_000, what: "the refusals' AuditEvents" },
    );
    const reasons = refusals.map((event: any) => event.outcomeDesc as string).sort();
    expect(reasons.filter((reason: string) => reason.startsWith('Invalid token'))).toHaveLength(LIMIT);
    expect(reasons.filter((reason: string) => reason.startsWith('Too many invalid tokens'))).toHaveLength(3);
    for (const event of refusals) {
      expect(event.agent[0].network.address).toBe(attacker);
    }
  });
});
