import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

/** The shortest key accepted: 256 bits, the size of HMAC-SHA-256's output. */
export const PSEUDONYM_KEY_MIN_BYTES = 32;

/**
 * The node's secret key of its log pseudonyms (FACADE_LOG_PSEUDONYM_KEY, libs/node-settings). A
 * KeyObject, so that a logged or printed configuration never shows its bytes.
 */
export type PseudonymKey = KeyObject;

/** What to log instead of a patient key (`system|value`). */
export type Pseudonymizer = (patientKey: string) => string;

/** The key of these bytes; refused when shorter than PSEUDONYM_KEY_MIN_BYTES. */
export function pseudonymKey(bytes: Uint8Array): PseudonymKey {
  if (bytes.length < PSEUDONYM_KEY_MIN_BYTES) {
    throw new Error(`a pseudonym key must be at least ${PSEUDONYM_KEY_MIN_BYTES} bytes, got ${bytes.length}`);
  }
  return createSecretKey(Buffer.from(bytes));
}

/** A new random key (PSEUDONYM_KEY_MIN_BYTES bytes). */
export function generatePseudonymKey(): PseudonymKey {
  return pseudonymKey(randomBytes(PSEUDONYM_KEY_MIN_BYTES));
}

/**
 * A short stand-in for a patient key in logs and audit lines: `pt-` and the first 64 bits of the
 * HMAC-SHA-256 of the key under the node's secret. The same patient gives the same pseudonym in
 * every service of the node and across restarts (lines can be correlated); without the secret it
 * can be neither computed nor reversed, even by trying every identifier of a small namespace
 * (an unkeyed digest of an 8-digit ID is reversed in about a second).
 */
export function pseudonym(patientKey: string, key: PseudonymKey): string {
  checkKey(key);
  return `pt-${createHmac('sha256', key).update(patientKey, 'utf8').digest('hex').slice(0, 16)}`;
}

/** `pseudonym` bound to the node's key, for the code that logs. */
export function pseudonymizer(key: PseudonymKey): Pseudonymizer {
  checkKey(key);
  return (patientKey) => pseudonym(patientKey, key);
}

function checkKey(key: PseudonymKey): void {
  if (key.type !== 'secret' || (key.symmetricKeySize ?? 0) < PSEUDONYM_KEY_MIN_BYTES) {
    throw new Error(`a pseudonym key must be a secret key of at least ${PSEUDONYM_KEY_MIN_BYTES} bytes`);
  }
}
