import { api, basic, pageSignIn, startDesk, type RunningDesk } from '../test-support/desk';
import { uniquePrefix } from '@imaging-facade/consent/src/test-support/kafka';

describe('failed sign-ins at the desk are throttled (issue 11 §4)', () => {
  let desk: RunningDesk;

  beforeAll(async () => {
    desk = await startDesk({
      KAFKA_TOPIC_PREFIX: uniquePrefix(),
      CONSENT_DESK_ACCOUNTS: 'desk:desk,nurse:nurse,clerk:clerk',
      CONSENT_MAX_FAILED_SIGN_INS_PER_ACCOUNT: '3',
      CONSENT_MAX_FAILED_SIGN_INS_PER_CLIENT: '8',
    });
  });

  afterAll(async () => {
    await desk?.stop();
  });

  test('after 3 wrong passwords an API account is locked out: 429 with Retry-After, even with the right password; other accounts still work', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await api(desk, 'GET', '/api/patients?identifier=X', undefined, basic('nurse', 'wrong'))).status).toBe(401);
    }
    const locked = await api(desk, 'GET', '/api/patients?identifier=X', undefined, basic('nurse', 'nurse'));
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(locked.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'throttled' }] });
    expect((await api(desk, 'GET', '/api/patients?identifier=X', undefined, basic('desk', 'desk'))).status).not.toBe(401);
  });

  test('the sign-in page locks the account out the same way, and says so', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await pageSignIn(desk, 'clerk', 'wrong')).status).toBe(401);
    }
    const locked = await pageSignIn(desk, 'clerk', 'clerk');
    expect(locked.status).toBe(429);
    expect(Number(locked.retryAfter)).toBeGreaterThan(0);
    expect(locked.body).toContain('Too many failed sign-ins');
  });

  test('each failure is in the audit trail, without the password', async () => {
    const failures = desk.logs.filter((line) => line.includes('"audit":true') && line.includes('"outcome":"failure"'));
    expect(failures.length).toBeGreaterThanOrEqual(8);
    expect(desk.logs.join('\n')).not.toContain('wrong');
  });

  test('a client that keeps failing across accounts is locked out as a whole', async () => {
    // 3 + 3 failures above, from this address; two more reach the client limit of 8.
    for (let i = 0; i < 2; i++) {
      await api(desk, 'GET', '/api/patients?identifier=X', undefined, basic(`nobody${i}`, 'wrong'));
    }
    expect((await api(desk, 'GET', '/api/patients?identifier=X', undefined, basic('desk', 'desk'))).status).toBe(429);
  });
});
