import { createHash } from 'node:crypto';

/** RFC 4122 URL namespace: names below are URIs or URI-like keys. */
const URL_NAMESPACE = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex');

/**
 * A name-based (version 5) UUID. The same name always gives the same UUID, so that a transaction
 * built twice from the same input is byte-identical.
 */
export function nameBasedUuid(name: string, namespace: Buffer = URL_NAMESPACE): string {
  const bytes = createHash('sha1').update(namespace).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A `urn:uuid:` fullUrl for a resource created inside a transaction, derived from `name`. */
export function urnUuid(name: string): string {
  return `urn:uuid:${nameBasedUuid(name)}`;
}
