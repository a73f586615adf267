import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pseudonym, pseudonymKey } from '@imaging-facade/consent';
import { ConfigError, loadConfig } from '@imaging-facade/service-kit';
import { LOG_PSEUDONYM_KEY_FILE, resolveLogPseudonymKey } from './log-pseudonym-key';
import { nodeSettingsSchema } from './node-settings';

const PATIENT = 'urn:oid:1.2.250.1.999.1|00734129';
const KEY_BYTES = Buffer.alloc(32, 0x5f);
const problemsOf = (environment: Record<string, string>): string[] => {
  try {
    loadConfig(nodeSettingsSchema, environment);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
};

describe('FACADE_LOG_PSEUDONYM_KEY', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'facade-pseudonym-key-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  test.each([
    ['hex', KEY_BYTES.toString('hex')],
    ['HEX', KEY_BYTES.toString('hex').toUpperCase()],
    ['base64', KEY_BYTES.toString('base64')],
    ['base64url without padding', KEY_BYTES.toString('base64url')],
    ['hex with surrounding spaces', ` ${KEY_BYTES.toString('hex')}\n`],
  ])('is read as %s, and is the key of the pseudonyms', (_encoding, value) => {
    const node = loadConfig(nodeSettingsSchema, { FACADE_LOG_PSEUDONYM_KEY: value, FACADE_DATA_DIR: dataDir });
    expect(pseudonym(PATIENT, resolveLogPseudonymKey(node))).toBe(pseudonym(PATIENT, pseudonymKey(KEY_BYTES)));
    // A key that is set is used as is: nothing is written to the data directory.
    expect(readdirSync(dataDir)).toEqual([]);
  });

  test.each([
    ['31 bytes of hex', 'ab'.repeat(31), /at least 32 random bytes.*got 31 bytes/],
    ['24 bytes of base64', Buffer.alloc(24, 1).toString('base64'), /got 24 bytes/],
    ['text that is neither hex nor base64', 'correct horse battery staple!', /hex or base64/],
  ])('is refused when it is %s, naming the variable', (_situation, value, message) => {
    const problems = problemsOf({ FACADE_LOG_PSEUDONYM_KEY: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^FACADE_LOG_PSEUDONYM_KEY: /);
    expect(problems[0]).toMatch(message);
  });

  test.each([
    ['missing', {}],
    ['empty', { FACADE_LOG_PSEUDONYM_KEY: '' }],
  ])('when %s under FACADE_ENV=production, refuses the start, naming the variable', (_situation, environment) => {
    expect(problemsOf({ FACADE_ENV: 'production', ...environment })).toEqual([
      expect.stringMatching(/^FACADE_LOG_PSEUDONYM_KEY: required when FACADE_ENV=production: at least 32 random bytes, hex or base64/),
    ]);
    // Even past the schema, production never falls back to a key of the data directory.
    expect(() => resolveLogPseudonymKey({ logPseudonymKey: undefined, environment: 'production', dataDir })).toThrow(ConfigError);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  test.each(['development', 'test'])('when unset under FACADE_ENV=%s, is generated once in the data directory (0600) and kept', (environment) => {
    const node = loadConfig(nodeSettingsSchema, { FACADE_ENV: environment, FACADE_DATA_DIR: dataDir });
    const first = pseudonym(PATIENT, resolveLogPseudonymKey(node));
    const file = path.join(dataDir, LOG_PSEUDONYM_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    // A restart, another service of the same node: the same pseudonym.
    expect(pseudonym(PATIENT, resolveLogPseudonymKey(loadConfig(nodeSettingsSchema, { FACADE_DATA_DIR: dataDir })))).toBe(first);
    // Another node (another data directory): another key.
    const other = mkdtempSync(path.join(tmpdir(), 'facade-pseudonym-key-'));
    try {
      expect(pseudonym(PATIENT, resolveLogPseudonymKey({ ...node, dataDir: other }))).not.toBe(first);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    expect(readdirSync(dataDir)).toEqual([LOG_PSEUDONYM_KEY_FILE]);
  });

  test('is generated in a data directory that does not exist yet', () => {
    const nested = path.join(dataDir, 'not', 'yet');
    resolveLogPseudonymKey({ logPseudonymKey: undefined, environment: 'development', dataDir: nested });
    expect(readdirSync(nested)).toEqual([LOG_PSEUDONYM_KEY_FILE]);
  });

  test.each([
    ['readable by others', '5f'.repeat(32), 0o644, /readable by others: chmod 600/],
    ['too short', '5f'.repeat(16), 0o600, /not 32 bytes in hex/],
  ])('a kept key file %s is refused, not replaced', (_situation, content, mode, message) => {
    const file = path.join(dataDir, LOG_PSEUDONYM_KEY_FILE);
    writeFileSync(file, content);
    chmodSync(file, mode);
    expect(() => resolveLogPseudonymKey({ logPseudonymKey: undefined, environment: 'development', dataDir })).toThrow(message);
    expect(readFileSync(file, 'utf8')).toBe(content);
  });
});
