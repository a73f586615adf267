import { createHash } from 'node:crypto';

/**
 * A short, stable stand-in for a patient key in logs and audit lines: the same patient always gives
 * the same pseudonym (so lines can be correlated), and the identifier cannot be read back from it.
 */
export function pseudonym(patientKey: string): string {
  return `pt-${createHash('sha256').update(patientKey, 'utf8').digest('hex').slice(0, 16)}`;
}
