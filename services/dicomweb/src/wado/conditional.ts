/**
 * Whether an `If-None-Match` header matches a representation's entity tag (RFC 9110 13.1.2): `*`,
 * or any tag of its comma-separated list compared weakly (`W/"x"` and `"x"` are the same tag).
 */
export function noneMatchHolds(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => opaque(tag) === opaque(etag));
}
