import type { Identifier, Patient } from '@medplum/fhirtypes';
import type { FhirClient } from './client';
import { identifierToken } from './search';

/** What one search may carry of identifiers: HAPI refuses a query string much past 8 KB with a 400. */
const QUERY_BUDGET = 3_000;
const MAX_PER_SEARCH = 50;

/** The identifiers as OR lists (`a,b,c`) that each stay within one search's budget. */
export function identifierBatches(identifiers: readonly Identifier[]): string[] {
  const batches: string[] = [];
  let tokens: string[] = [];
  let length = 0;
  for (const identifier of identifiers) {
    const token = identifierToken(identifier);
    const cost = encodeURIComponent(token).length + 3;
    if (tokens.length > 0 && (length + cost > QUERY_BUDGET || tokens.length >= MAX_PER_SEARCH)) {
      batches.push(tokens.join(','));
      tokens = [];
      length = 0;
    }
    tokens.push(token);
    length += cost;
  }
  if (tokens.length > 0) {
    batches.push(tokens.join(','));
  }
  return batches;
}

/**
 * Every Patient record holding any of these identifiers, with only its identifiers and meta (the
 * security labels): every page is followed (a server caps its pages, HAPI at 50 entries, whatever
 * `_count` asks), and the identifiers are asked about in OR lists that fit a query string.
 */
export async function* patientRecordsHolding(fhir: Pick<FhirClient, 'searchAll'>, identifiers: readonly Identifier[]): AsyncGenerator<Patient> {
  for (const batch of identifierBatches(identifiers)) {
    yield* fhir.searchAll('Patient', { identifier: batch, _elements: 'identifier', _count: '50' });
  }
}
