import crypto from 'node:crypto';
import { AccountVerifier, hashPassword, parseAccounts, usesDefaultAccount } from './accounts';
import { loadConsentConfig } from '../config';

describe('parseAccounts', () => {
  test.each([
    ['one plain account', 'desk:desk', [{ user: 'desk', kind: 'plain', password: 'desk' }]],
    ['several, spaces around commas ignored', 'a:1, b:2 ,', [{ user: 'a', kind: 'plain', password: '1' }, { user: 'b', kind: 'plain', password: '2' }]],
    ['a password may hold colons', 'alice:pa:ss', [{ user: 'alice', kind: 'plain', password: 'pa:ss' }]],
  ])('%s', (_situation, text, expected) => {
    expect(parseAccounts(text)).toEqual(expected);
  });

  test.each([
    ['nothing at all', ' , ', /at least one/],
    ['no password', 'desk', /not user:password/],
    ['an empty password', 'desk:', /not user:password/],
    ['an empty user', ':secret', /not user:password/],
    ['a user name with a space', 'front desk:x', /user name/],
    ['a broken scrypt hash', 'desk:scrypt$abc', /scrypt hash/],
    ['the same user twice', 'a:1,a:2', /twice/],
  ])('refuses %s', (_situation, text, message) => {
    expect(() => parseAccounts(text)).toThrow(message);
  });
});

describe('AccountVerifier', () => {
  test('a plain account: the right password passes, a wrong one and an unknown user do not', async () => {
    const verifier = new AccountVerifier(parseAccounts('desk:desk,alice:s3cret'));
    await expect(verifier.verify('alice', 's3cret')).resolves.toBe('alice');
    await expect(verifier.verify('alice', 's3cret ')).resolves.toBeUndefined();
    await expect(verifier.verify('bob', 's3cret')).resolves.toBeUndefined();
  });

  test('a hashed account: the hash printed by hashPassword verifies the password', async () => {
    const hash = await hashPassword('correct horse battery');
    const verifier = new AccountVerifier(parseAccounts(`alice:${hash}`));
    await expect(verifier.verify('alice', 'correct horse battery')).resolves.toBe('alice');
    await expect(verifier.verify('alice', 'wrong horse battery')).resolves.toBeUndefined();
  });

  test('a user who does not exist costs a scrypt too, when the accounts are hashed (the time would tell who exists)', async () => {
    const verifier = new AccountVerifier(parseAccounts(`alice:${await hashPassword('correct horse battery')}`));
    const scrypt = jest.spyOn(crypto, 'scrypt');
    try {
      await expect(verifier.verify('nobody', 'correct horse battery')).resolves.toBeUndefined();
      await expect(verifier.verify('alice', 'wrong horse battery')).resolves.toBeUndefined();
      expect(scrypt).toHaveBeenCalledTimes(2);
    } finally {
      scrypt.mockRestore();
    }
  });
});

describe('the default account in configuration', () => {
  /** Production requires the node's log pseudonym key; set here, nothing is written to a data directory. */
  const PSEUDONYM_KEY = '5f'.repeat(32);

  test('desk/desk is the local default', () => {
    expect(usesDefaultAccount(loadConsentConfig({ FACADE_LOG_PSEUDONYM_KEY: PSEUDONYM_KEY }).accounts)).toBe(true);
  });

  test.each([
    ['the default accounts', {}],
    ['desk/desk among others', { CONSENT_DESK_ACCOUNTS: 'alice:long-password,desk:desk' }],
  ])('production refuses to start with %s, saying why', (_situation, environment) => {
    expect(() => loadConsentConfig({ ...environment, FACADE_ENV: 'production', FACADE_LOG_PSEUDONYM_KEY: PSEUDONYM_KEY })).toThrow(/desk\/desk account is refused in production/);
  });

  test('production refuses passwords in clear, naming the accounts', () => {
    expect(() => loadConsentConfig({ FACADE_ENV: 'production', CONSENT_DESK_ACCOUNTS: 'alice:a-long-password-in-clear', FACADE_LOG_PSEUDONYM_KEY: PSEUDONYM_KEY })).toThrow(
      /passwords in clear are refused in production \(alice\)/,
    );
  });

  test('production starts with real accounts, even one named desk', async () => {
    const hash = await hashPassword('a long desk password');
    const config = loadConsentConfig({ FACADE_ENV: 'production', CONSENT_DESK_ACCOUNTS: `desk:${hash}`, FACADE_LOG_PSEUDONYM_KEY: PSEUDONYM_KEY });
    expect(config.accounts.map((account) => account.user)).toEqual(['desk']);
  });
});
