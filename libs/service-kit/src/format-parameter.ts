/**
 * `_format`, FHIR's way of asking for a representation in the query string (R4 http.html#mime).
 * Our HTTP faces answer JSON only, and treat the parameter alike: a JSON value is honoured (the
 * answer is JSON anyway), anything else (`xml`, `text/html`, `ttl`…) is a 406, never silently
 * ignored. Pure.
 */
export const JSON_FORMAT_VALUES: ReadonlySet<string> = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);

/** Why the `_format` values of a query are refused, or undefined when there are none or all ask for JSON. */
export function formatRefusal(values: readonly string[], accepted: ReadonlySet<string> = JSON_FORMAT_VALUES): string | undefined {
  for (const value of values) {
    // `application/fhir+json; fhirVersion=4.0` and `application/json;charset=utf-8` name JSON too.
    const type = (value.split(';')[0] ?? '').trim().toLowerCase();
    if (!accepted.has(type)) {
      return `_format=${type || '(empty)'} is not served: answers are JSON only (_format=json, or leave it out)`;
    }
  }
  return undefined;
}

/** The `_format` values of a request's query string, as sent. */
export function formatValues(originalUrl: string): string[] {
  const at = originalUrl.indexOf('?');
  if (at < 0) {
    return [];
  }
  try {
    return new URLSearchParams(originalUrl.slice(at + 1)).getAll('_format');
  } catch {
    return [];
  }
}
