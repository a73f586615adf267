import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Brute-force protection for every face that takes credentials (the desk's sign-in page and API,
 * the gateway's tokens): failures are counted per client address and per account, and past a limit
 * the client or the account is locked out for a while (answered 429 with Retry-After), whatever the
 * credentials. A success clears the account's count. Counts live in memory (rate-limiter-flexible):
 * one process per face, and a restart forgets them, which errs on the side of the honest user.
 */
export interface SignInLimits {
  /** Failures from one client address before it is locked out. */
  perClient: number;
  /** Consecutive failures for one account before it is locked out. */
  perAccount: number;
  /** How long a lock-out lasts, and the window failures are counted in (seconds). */
  lockoutSeconds: number;
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = { perClient: 20, perAccount: 5, lockoutSeconds: 900 };

export type SignInGate = { allowed: true } | { allowed: false; retryAfterSeconds: number; lockedOut: 'client' | 'account' };

/** An attempt checked (`value`: what the check found, undefined when the credentials were wrong), or refused unchecked. */
export type SignInAttempt<T> = { allowed: true; value: T | undefined } | Extract<SignInGate, { allowed: false }>;

export class FailedSignIns {
  private readonly clients: RateLimiterMemory;
  private readonly accounts: RateLimiterMemory;
  /** Attempts let through and not yet settled, counted as failures by the gate meanwhile. */
  private readonly clientsInFlight = new Map<string, number>();
  private readonly accountsInFlight = new Map<string, number>();

  constructor(private readonly limits: SignInLimits = DEFAULT_SIGN_IN_LIMITS) {
    const window = { duration: limits.lockoutSeconds, blockDuration: limits.lockoutSeconds };
    this.clients = new RateLimiterMemory({ ...window, points: limits.perClient, keyPrefix: 'client' });
    this.accounts = new RateLimiterMemory({ ...window, points: limits.perAccount, keyPrefix: 'account' });
  }

  /**
   * Checks credentials under the limits: refused unchecked past them; otherwise `check` runs, and
   * its outcome is counted (undefined or a throw: a failure). While it runs (a password hash takes
   * a pool thread tens of milliseconds) the attempt counts as a failure: a burst of attempts sent
   * at once cannot all pass the gate before the first of them has failed.
   */
  async attempt<T>(client: string, account: string | undefined, check: () => Promise<T | undefined>): Promise<SignInAttempt<T>> {
    const counts = await this.counts(client, account);
    // From here to the reservation nothing awaits: no other attempt is let through in between.
    const refused = this.refusal(client, account, counts);
    if (refused) {
      return refused;
    }
    const release = this.reserve(client, account);
    let value: T | undefined;
    try {
      value = await check();
    } finally {
      try {
        await (value === undefined ? this.failed(client, account) : account ? this.succeeded(account) : undefined);
      } finally {
        // Only once the failure is counted: until then the reservation stands for it.
        release();
      }
    }
    return { allowed: true, value };
  }

  /** Whether an attempt from this client for this account may be checked at all (attempts under way count as failures). */
  async gate(client: string, account?: string): Promise<SignInGate> {
    return this.refusal(client, account, await this.counts(client, account)) ?? { allowed: true };
  }

  private async counts(client: string, account: string | undefined): Promise<[RateLimiterRes | null, RateLimiterRes | null]> {
    return Promise.all([this.clients.get(client), account ? this.accounts.get(account) : null]);
  }

  private refusal(client: string, account: string | undefined, [byClient, byAccount]: [RateLimiterRes | null, RateLimiterRes | null]): Extract<SignInGate, { allowed: false }> | undefined {
    const refused = (state: RateLimiterRes | null, inFlight: number, limit: number): number | undefined => {
      const failed = state?.consumedPoints ?? 0;
      if (failed + inFlight < limit) {
        return undefined;
      }
      // Locked out: until the window ends. Only attempts under way fill the count: they settle in a moment.
      return failed >= limit && state ? secondsOf(state) : 1;
    };
    const clientWait = refused(byClient, this.clientsInFlight.get(client) ?? 0, this.limits.perClient);
    if (clientWait !== undefined) {
      return { allowed: false, retryAfterSeconds: clientWait, lockedOut: 'client' };
    }
    const accountWait = account ? refused(byAccount, this.accountsInFlight.get(account) ?? 0, this.limits.perAccount) : undefined;
    if (accountWait !== undefined) {
      return { allowed: false, retryAfterSeconds: accountWait, lockedOut: 'account' };
    }
    return undefined;
  }

  private reserve(client: string, account: string | undefined): () => void {
    const add = (counts: Map<string, number>, key: string, by: number): void => {
      const count = (counts.get(key) ?? 0) + by;
      if (count > 0) {
        counts.set(key, count);
      } else {
        counts.delete(key);
      }
    };
    add(this.clientsInFlight, client, 1);
    if (account) {
      add(this.accountsInFlight, account, 1);
    }
    return () => {
      add(this.clientsInFlight, client, -1);
      if (account) {
        add(this.accountsInFlight, account, -1);
      }
    };
  }

  /** Counts a failed attempt (a wrong password, an invalid token). */
  async failed(client: string, account?: string): Promise<void> {
    await Promise.all([consume(this.clients, client), account ? consume(this.accounts, account) : undefined]);
  }

  /** A success clears the account's consecutive failures (the client's count stays). */
  async succeeded(account: string): Promise<void> {
    await this.accounts.delete(account);
  }
}

async function consume(limiter: RateLimiterMemory, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (error) {
    // Past the limit the limiter rejects with its state (the lock-out has begun); anything else is a bug.
    if (!(error instanceof RateLimiterRes)) {
      throw error;
    }
  }
}

function secondsOf(state: RateLimiterRes): number {
  return Math.max(1, Math.ceil(state.msBeforeNext / 1000));
}
