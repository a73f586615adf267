import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** A desk account from configuration: the password in clear (local setups) or as a scrypt hash. */
export type DeskAccount =
  | { user: string; kind: 'plain'; password: string }
  | { user: string; kind: 'scrypt'; salt: Buffer; hash: Buffer };

const USER = /^[A-Za-z0-9._@-]{1,64}$/;
const SCRYPT_PREFIX = 'scrypt$';
const SCRYPT_OPTIONS: ScryptOptions = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;

/**
 * Parses `user:password,user2:scrypt$<salt>$<hash>`: comma-separated accounts, the user before the
 * first colon, the password after it (it may hold colons, not commas). A password written
 * `scrypt$<salt>$<hash>` (base64url) is a hash made by `consent-desk-hash-password`.
 */
export function parseAccounts(text: string): DeskAccount[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) {
    throw new Error('at least one desk account is needed (user:password)');
  }
  const accounts = entries.map((entry, index) => {
    const colon = entry.indexOf(':');
    if (colon <= 0 || colon === entry.length - 1) {
      throw new Error(`account ${index + 1} is not user:password`);
    }
    const user = entry.slice(0, colon);
    const secret = entry.slice(colon + 1);
    if (!USER.test(user)) {
      throw new Error(`account ${index + 1}: a user name has 1 to 64 letters, digits or . _ @ -`);
    }
    if (!secret.startsWith(SCRYPT_PREFIX)) {
      return { user, kind: 'plain', password: secret } as const;
    }
    const [salt, hash, extra] = secret.slice(SCRYPT_PREFIX.length).split('$');
    const saltBytes = Buffer.from(salt ?? '', 'base64url');
    const hashBytes = Buffer.from(hash ?? '', 'base64url');
    if (extra !== undefined || saltBytes.length < 8 || hashBytes.length !== KEY_LENGTH) {
      throw new Error(`account ${index + 1} (${user}): a scrypt hash is scrypt$<salt>$<hash>, as consent-desk-hash-password prints it`);
    }
    return { user, kind: 'scrypt', salt: saltBytes, hash: hashBytes } as const;
  });
  const users = new Set<string>();
  for (const account of accounts) {
    if (users.has(account.user)) {
      throw new Error(`account ${account.user} is configured twice`);
    }
    users.add(account.user);
  }
  return accounts;
}

/** True when the well-known local account desk/desk is among the accounts. */
export function usesDefaultAccount(accounts: readonly DeskAccount[]): boolean {
  return accounts.some((account) => account.user === 'desk' && account.kind === 'plain' && account.password === 'desk');
}

/** The `scrypt$<salt>$<hash>` form of a password, to put in CONSENT_DESK_ACCOUNTS instead of the password. */
export async function hashPassword(password: string, salt: Buffer = randomBytes(16)): Promise<string> {
  const hash = await scrypt(password, salt);
  return `${SCRYPT_PREFIX}${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/**
 * Checks a user's password, in constant time whatever the account kind, and whether the user exists.
 * Returns the user name when the password is right.
 */
export class AccountVerifier {
  private readonly accounts: Map<string, DeskAccount>;
  /** Checked for a user who does not exist, at the cost of the real accounts (scrypt when any is hashed). */
  private readonly dummy: DeskAccount;
  /** Recent successful checks (a digest of user and password), so that Basic auth does not run scrypt on every call. */
  private readonly recent = new Map<string, number>();

  constructor(
    accounts: readonly DeskAccount[],
    private readonly cacheMs = 60_000,
  ) {
    this.accounts = new Map(accounts.map((account) => [account.user, account]));
    this.dummy = accounts.some((account) => account.kind === 'scrypt')
      ? { user: '', kind: 'scrypt', salt: randomBytes(16), hash: randomBytes(KEY_LENGTH) }
      : { user: '', kind: 'plain', password: randomBytes(16).toString('hex') };
  }

  /**
   * The name to audit for a failed sign-in: the account's when there is one, else a placeholder
   * (a password typed in the user field must not reach the logs).
   */
  auditName(user: string): string {
    return this.accounts.has(user) ? user : '(no such account)';
  }

  async verify(user: string, password: string): Promise<string | undefined> {
    const digest = credentialsDigest(user, password);
    const until = this.recent.get(digest);
    if (until !== undefined && until > Date.now()) {
      return user;
    }
    const account = this.accounts.get(user);
    const ok = account ? await matches(account, password) : (await matches(this.dummy, password), false);
    if (!ok) {
      return undefined;
    }
    this.recent.set(digest, Date.now() + this.cacheMs);
    return user;
  }
}

/** What identifies a pair of credentials in memory, without keeping the password. */
export function credentialsDigest(user: string, password: string): string {
  return createHash('sha256').update(`${user}\u0000${password}`).digest('base64');
}

async function matches(account: DeskAccount, password: string): Promise<boolean> {
  if (account.kind === 'plain') {
    const expected = createHash('sha256').update(account.password).digest();
    return timingSafeEqual(expected, createHash('sha256').update(password).digest());
  }
  return timingSafeEqual(account.hash, await scrypt(password, account.salt));
}

function scrypt(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password, salt, KEY_LENGTH, SCRYPT_OPTIONS, (error, key) => (error ? reject(error) : resolve(key))),
  );
}
