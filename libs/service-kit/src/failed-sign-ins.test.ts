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

describe('FailedSignIns.attempt', () => {
  const limits = { perClient: 20, perAccount: 5, lockoutSeconds: 60 };
  const slowWrongPassword = async (): Promise<string | undefined> => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    return undefined;
  };

  it('checks no more attempts of a burst sent at once than the account may fail', async () => {
    const throttle = new FailedSignIns(limits);
    let checked = 0;
    const burst = await Promise.all(
      Array.from({ length: 60 }, () =>
        throttle.attempt('10.0.0.1', 'desk', async () => {
          checked++;
          return slowWrongPassword();
        }),
      ),
    );
    expect(checked).toBe(limits.perAccount);
    const refused = burst.filter((attempt) => !attempt.allowed);
    expect(refused).toHaveLength(60 - limits.perAccount);
    // Refused while the others were under way: not yet a lock-out, so try again in a moment.
    expect(refused.every((attempt) => !attempt.allowed && attempt.retryAfterSeconds === 1)).toBe(true);
    // Once they failed, a lock-out for the window.
    const locked = await throttle.gate('10.0.0.2', 'desk');
    expect(locked).toMatchObject({ allowed: false, lockedOut: 'account' });
    expect(!locked.allowed && locked.retryAfterSeconds).toBeGreaterThan(50);
  });

  it('a burst across accounts stops at the client\'s limit', async () => {
    const throttle = new FailedSignIns(limits);
    let checked = 0;
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        throttle.attempt('10.0.0.1', `user-${i}`, async () => {
          checked++;
          return slowWrongPassword();
        }),
      ),
    );
    expect(checked).toBe(limits.perClient);
  });

  it('a success settles as one: it clears the account and does not count against the client', async () => {
    const throttle = new FailedSignIns({ perClient: 2, perAccount: 2, lockoutSeconds: 60 });
    expect(await throttle.attempt('10.0.0.1', 'desk', async () => undefined)).toEqual({ allowed: true, value: undefined });
    expect(await throttle.attempt('10.0.0.1', 'desk', async () => 'desk')).toEqual({ allowed: true, value: 'desk' });
    expect(await throttle.attempt('10.0.0.1', 'desk', async () => 'desk')).toEqual({ allowed: true, value: 'desk' });
  });

  it('a check that throws counts as a failure and is released', async () => {
    const throttle = new FailedSignIns({ perClient: 2, perAccount: 2, lockoutSeconds: 60 });
    await expect(throttle.attempt('10.0.0.1', 'desk', async () => Promise.reject(new Error('store down')))).rejects.toThrow('store down');
    await throttle.attempt('10.0.0.1', 'desk', async () => undefined);
    expect(await throttle.gate('10.0.0.1', 'desk')).toMatchObject({ allowed: false });
  });
});
