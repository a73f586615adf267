import type { Bundle, ImagingStudy, Patient, Resource } from '@medplum/fhirtypes';

export const FHIR_BASE_URL = (): string => process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';

/**
 * A FHIR search against the real server, without caching. `no-store` also asks HAPI to keep
 * nothing of it (one page only: libs/fhir README), for a probe that polls.
 */
export async function search<T extends Resource>(query: string, cacheControl: 'no-cache' | 'no-store' = 'no-cache'): Promise<T[]> {
  const response = await fetch(`${FHIR_BASE_URL()}/${query}`, {
    headers: { accept: 'application/fhir+json', 'cache-control': cacheControl },
  });
  if (!response.ok) {
    throw new Error(`GET ${query}: HTTP ${response.status} ${await response.text()}`);
  }
  const bundle = (await response.json()) as Bundle<T>;
  return (bundle.entry ?? []).map((entry) => entry.resource).filter((r): r is T => r !== undefined);
}

export function studiesByUid(studyInstanceUid: string): Promise<ImagingStudy[]> {
  return search<ImagingStudy>(`ImagingStudy?identifier=${encodeURIComponent(`urn:oid:${studyInstanceUid}`)}`);
}

export async function read<T extends Resource>(reference: string): Promise<T> {
  const response = await fetch(`${FHIR_BASE_URL()}/${reference}`, { headers: { accept: 'application/fhir+json' } });
  if (!response.ok) {
    throw new Error(`GET ${reference}: HTTP ${response.status}`);
  }
  return (await response.json()) as T;
}

export function patientsByIdentifier(value: string): Promise<Patient[]> {
  return search<Patient>(`Patient?identifier=${encodeURIComponent(value)}`);
}

/** The server's own validator (`$validate` against the R4 base definitions): its error-level issues. */
export async function validationErrors(resource: Resource): Promise<string[]> {
  const response = await fetch(`${FHIR_BASE_URL()}/${resource.resourceType}/$validate`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: JSON.stringify(resource),
  });
  const outcome = (await response.json()) as { issue?: Array<{ severity: string; diagnostics?: string; location?: string[] }> };
  return (outcome.issue ?? [])
    .filter((issue) => issue.severity === 'error' || issue.severity === 'fatal')
    .map((issue) => `${issue.location?.join(',') ?? ''} ${issue.diagnostics ?? ''}`.trim());
}
