import { randomUUID } from 'node:crypto';

/** A fresh DICOM UID under the UUID-derived root 2.25 (PS3.5 B.2), unique per test run. */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}
