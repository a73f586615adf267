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

export class FailedSignIns {
  private readonly clients: RateLimiterMemory;
  private readonly accounts: RateLimiterMemory;

  constructor(private readonly limits: SignInLimits = DEFAULT_SIGN_IN_LIMITS) {
    const window = { duration: limits.lockoutSeconds, blockDuration: limits.lockoutSeconds };
    this.clients = new RateLimiterMemory({ ...window, points: limits.perClient, keyPrefix: 'client' });
    this.accounts = new RateLimiterMemory({ ...window, points: limits.perAccount, keyPrefix: 'account' });
  }

  /** Whether an attempt from this client for this account may be checked at all. */
  async gate(client: string, account?: string): Promise<SignInGate> {
    const byClient = await this.clients.get(client);
    if (byClient && byClient.consumedPoints >= this.limits.perClient) {
      return { allowed: false, retryAfterSeconds: secondsOf(byClient), lockedOut: 'client' };
    }
    const byAccount = account ? await this.accounts.get(account) : null;
    if (byAccount && byAccount.consumedPoints >= this.limits.perAccount) {
      return { allowed: false, retryAfterSeconds: secondsOf(byAccount), lockedOut: 'account' };
    }
    return { allowed: true };
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
