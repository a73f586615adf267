import type { DocumentReference, Identifier, Observation } from '@medplum/fhirtypes';
import { identifierToken, searchEvery } from '@imaging-facade/fhir';
import { canonical } from '../fhir/canonical';
import { UnprocessableStudyError } from '../errors';
import type { FhirPort } from '../fhir/fhir-lookups';

/**
 * Reads of the resources derived from a study (its manifest's DocumentReference, its dose
 * Observations), and the comparison that decides whether a derived resource needs writing.
 */

/** The one DocumentReference with `identifier`; two or more is permanent (no retry fixes it). */
export async function findDocumentReference(fhir: FhirPort, identifier: Identifier): Promise<DocumentReference | undefined> {
  const found = await fhir.search('DocumentReference', { identifier: identifierToken(identifier), _count: '2' });
  if (found.length > 1) {
    throw new UnprocessableStudyError("more than one DocumentReference has the identifier of the study's manifest");
  }
  return found[0];
}

/** The Observations with any of these identifiers and this code, in one search. */
export async function findObservations(
  fhir: FhirPort,
  identifiers: readonly Identifier[],
  code: { system?: string; code?: string },
): Promise<Observation[]> {
  if (identifiers.length === 0) {
    return [];
  }
  return fhir.search('Observation', {
    identifier: identifiers.map(identifierToken).join(','),
    code: `${code.system ?? ''}|${code.code ?? ''}`,
    _count: String(identifiers.length * 2 + 1),
  });
}

/** Identifiers per search when a lookup may name many (a fluoroscopy report's events): the query stays well under URL limits. */
const IDENTIFIERS_PER_SEARCH = 40;

/**
 * The Observations with any of these identifiers, whatever their code and study: every page read,
 * 40 identifiers per search (one search for a report of up to 40 events).
 */
export async function findObservationsByIdentifier(fhir: FhirPort, identifiers: readonly Identifier[]): Promise<Observation[]> {
  const tokens = [...new Set(identifiers.map(identifierToken))];
  const found: Observation[] = [];
  for (let start = 0; start < tokens.length; start += IDENTIFIERS_PER_SEARCH) {
    found.push(...(await searchEvery(fhir, 'Observation', { identifier: tokens.slice(start, start + IDENTIFIERS_PER_SEARCH).join(','), _count: '200' })));
  }
  return found;
}

/**
 * True when `stored` (as the server returns it) says what `fresh` (as the mapper builds it) says.
 * Server metadata and narrative are ignored, and so is the target of a reference that also names
 * its target by identifier: the mapper writes `urn:uuid:` references the server rewrites to ids.
 */
export function sameDerivedContent(stored: object, fresh: object): boolean {
  return canonical(comparable(stored)) === canonical(comparable(fresh));
}

function comparable(value: unknown, top = true): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => comparable(item, false));
  }
  if (typeof value !== 'object' || value === null) {
    return value;
  }
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(record)) {
    if (top && (key === 'id' || key === 'meta' || key === 'text')) {
      continue;
    }
    if (key === 'reference' && 'identifier' in record) {
      continue;
    }
    out[key] = comparable(item, false);
  }
  return out;
}
