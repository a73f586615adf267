import { FailedSignIns } from './failed-sign-ins';

describe('FailedSignIns', () => {
  const limits = { perClient: 4, perAccount: 2, lockoutSeconds: 60 };

  it('lets attempts through until an account has failed its limit, then locks that account out with a Retry-After', async () => {
    const throttle = new FailedSignIns(limits);
    expect(await throttle.gate('10.0.0.1', 'desk')).toEqual({ allowed: true });
    await throttle.failed('10.0.0.1', 'desk');
    expect(await throttle.gate('10.0.0.1', 'desk')).toEqual({ allowed: true });
    await throttle.failed('10.0.0.1', 'desk');
    const gate = await throttle.gate('10.0.0.2', 'desk');
    expect(gate).toMatchObject({ allowed: false, lockedOut: 'account' });
    expect(gate.allowed === false && gate.retryAfterSeconds).toBeGreaterThan(50);
    expect(await throttle.gate('10.0.0.2', 'another')).toEqual({ allowed: true });
  });

  it('locks out a client that fails across many accounts (password spraying)', async () => {
    const throttle = new FailedSignIns(limits);
    for (const account of ['a', 'b', 'c', 'd']) {
      await throttle.failed('10.0.0.9', account);
    }
    expect(await throttle.gate('10.0.0.9', 'e')).toMatchObject({ allowed: false, lockedOut: 'client' });
    expect(await throttle.gate('10.0.0.8', 'e')).toEqual({ allowed: true });
  });

  it('clears an account\'s count after a success, so that an honest user\'s typo does not add up', async () => {
    const throttle = new FailedSignIns(limits);
    await throttle.failed('10.0.0.1', 'desk');
    await throttle.succeeded('desk');
    await throttle.failed('10.0.0.1', 'desk');
    expect(await throttle.gate('10.0.0.1', 'desk')).toEqual({ allowed: true });
  });

  it('counts failures without an account name against the client only', async () => {
    const throttle = new FailedSignIns(limits);
    for (let i = 0; i < 4; i++) {
      await throttle.failed('10.0.0.3');
    }
    expect(await throttle.gate('10.0.0.3')).toMatchObject({ allowed: false, lockedOut: 'client' });
  });
});
