import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { PSEUDONYM_KEY_MIN_BYTES, pseudonymKey, type PseudonymKey } from '@imaging-facade/consent';
import { ConfigError } from '@imaging-facade/service-kit';

/** How to make a key, in error messages. */
export const LOG_PSEUDONYM_KEY_HINT = `at least ${PSEUDONYM_KEY_MIN_BYTES} random bytes, hex or base64 (e.g. \`openssl rand -hex ${PSEUDONYM_KEY_MIN_BYTES}\`), the same for every service of the node`;

/** Where a node without FACADE_LOG_PSEUDONYM_KEY keeps the key it generated, in its data directory. */
export const LOG_PSEUDONYM_KEY_FILE = 'log-pseudonym.key';

/** Hex (an even number of hex digits) or base64 (standard or URL-safe, padded or not); undefined: neither. */
export function decodeKey(text: string): Buffer | undefined {
  if (/^(?:[0-9a-f]{2})+$/i.test(text)) {
    return Buffer.from(text, 'hex');
  }
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text) || /^[A-Za-z0-9_-]+={0,2}$/.test(text)) {
    return Buffer.from(text, 'base64');
  }
  return undefined;
}

/** FACADE_LOG_PSEUDONYM_KEY: the key, or undefined when unset or empty. */
export const logPseudonymKeySchema = z
  .string()
  .trim()
  .transform((text, context): PseudonymKey | undefined => {
    if (text === '') {
      return undefined;
    }
    const bytes = decodeKey(text);
    if (!bytes || bytes.length < PSEUDONYM_KEY_MIN_BYTES) {
      context.addIssue({ code: 'custom', message: `must be ${LOG_PSEUDONYM_KEY_HINT}${bytes ? ` (got ${bytes.length} bytes)` : ''}` });
      return z.NEVER;
    }
    return pseudonymKey(bytes);
  })
  .optional();

/**
 * The key of the node's log pseudonyms: FACADE_LOG_PSEUDONYM_KEY when set. Production requires it
 * (its schema refuses a start without it: `checkNodeSettings`). Elsewhere, a key generated once and
 * kept in `<dataDir>/log-pseudonym.key` (mode 0600), so that every service sharing the data
 * directory (the local stack, a test's processes) and every restart pseudonymize alike; two
 * services that start at once agree on one file. Throws a ConfigError (exit 78) when the file
 * cannot be used.
 */
export function resolveLogPseudonymKey(node: { logPseudonymKey: PseudonymKey | undefined; environment: string; dataDir: string }): PseudonymKey {
  if (node.logPseudonymKey) {
    return node.logPseudonymKey;
  }
  if (node.environment === 'production') {
    throw new ConfigError([`FACADE_LOG_PSEUDONYM_KEY: required when FACADE_ENV=production: ${LOG_PSEUDONYM_KEY_HINT}`]);
  }
  const file = path.join(node.dataDir, LOG_PSEUDONYM_KEY_FILE);
  try {
    return readKeyFile(file) ?? createKeyFile(file);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw error;
    }
    throw new ConfigError([`FACADE_LOG_PSEUDONYM_KEY: not set, and the development key ${file} cannot be used: ${(error as Error).message}`]);
  }
}

/** The key kept in the file; undefined when there is none. */
function readKeyFile(file: string): PseudonymKey | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    throw new ConfigError([`FACADE_LOG_PSEUDONYM_KEY: not set, and the development key ${file} is readable by others: chmod 600 it, or delete it to make a new one`]);
  }
  const bytes = decodeKey(text);
  if (!bytes || bytes.length < PSEUDONYM_KEY_MIN_BYTES) {
    throw new ConfigError([`FACADE_LOG_PSEUDONYM_KEY: not set, and the development key ${file} is not ${PSEUDONYM_KEY_MIN_BYTES} bytes in hex: delete it to make a new one`]);
  }
  return pseudonymKey(bytes);
}

/**
 * Writes a new key to a file of its own, complete and fsynced, then links it to its name: a reader
 * never sees a partial key, and of two services starting at once the first link wins and both use
 * its key.
 */
function createKeyFile(file: string): PseudonymKey {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const descriptor = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(descriptor, `${randomBytes(PSEUDONYM_KEY_MIN_BYTES).toString('hex')}\n`);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw error;
    }
  } finally {
    unlinkSync(temporary);
  }
  const key = readKeyFile(file);
  if (!key) {
    throw new Error('the key file vanished as it was made');
  }
  return key;
}
