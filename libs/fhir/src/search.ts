import type { Identifier, Reference } from '@medplum/fhirtypes';

/**
 * Escapes a search parameter value: `\`, `|`, `,` and `$` are separators in FHIR search and must be
 * preceded by `\` when they are part of a value (FHIR R4 3.1.1.5.7).
 */
export function escapeSearchValue(value: string): string {
  return value.replace(/[\\|,$]/g, (character) => `\\${character}`);
}

/**
 * The token `system|value` that finds a resource by identifier. Without a system it is the bare
 * value, which matches the value in any system.
 */
export function identifierToken(identifier: Pick<Identifier, 'system' | 'value'>): string {
  if (!identifier.value) {
    throw new Error('an identifier token needs a value');
  }
  const value = escapeSearchValue(identifier.value);
  return identifier.system ? `${escapeSearchValue(identifier.system)}|${value}` : value;
}

/**
 * A search query string, percent-encoded: `identifier=urn%3Adicom%3Auid%7C…`. Used as a
 * transaction entry's `ifNoneExist` and after the `?` of a conditional URL.
 */
export function searchQuery(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&');
}

/** A conditional URL such as `ImagingStudy?identifier=…`, for a conditional update or delete. */
export function conditionalUrl(resourceType: string, params: Record<string, string>): string {
  return `${resourceType}?${searchQuery(params)}`;
}

/**
 * A conditional reference (`Patient?identifier=system|value`), which the server resolves to the one
 * matching resource when it processes a transaction.
 */
export function conditionalReference(
  resourceType: string,
  identifier: Pick<Identifier, 'system' | 'value'>,
): Reference {
  return { reference: conditionalUrl(resourceType, { identifier: identifierToken(identifier) }) };
}

/** The `If-Match` value that makes an update fail with 412 unless the resource is still at `versionId`. */
export function weakEtag(versionId: string): string {
  return `W/"${versionId}"`;
}
