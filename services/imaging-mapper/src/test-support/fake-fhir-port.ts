import type { FhirPort } from '../fhir/fhir-lookups';

/** A FHIR port for unit tests, answering from `search` alone: `searchAll` yields what `search` answers, as one page. */
export function fakeFhirPort(port: Pick<FhirPort, 'search' | 'transaction'>): FhirPort {
  return {
    ...port,
    searchAll: async function* (resourceType, params) {
      yield* await port.search(resourceType, params);
    } as FhirPort['searchAll'],
  };
}
