import type { ExtractResource, Identifier } from '@medplum/fhirtypes';
import { identifierToken, type FhirClient } from '@imaging-facade/fhir';
import { UnprocessableStudyError } from '../errors';

/** What the mapper asks of the FHIR server. */
export type FhirPort = Pick<FhirClient, 'search' | 'searchAll' | 'transaction'>;

/**
 * The one resource with `identifier`, or undefined. Two or more is a state no retry will fix (and
 * a conditional create or update against it would fail with 412 forever), so it is permanent.
 */
export async function findByIdentifier<K extends 'Patient' | 'ImagingStudy'>(
  fhir: FhirPort,
  resourceType: K,
  identifier: Identifier,
): Promise<ExtractResource<K> | undefined> {
  const found = await fhir.search(resourceType, { identifier: identifierToken(identifier), _count: '2' });
  if (found.length > 1) {
    throw new UnprocessableStudyError(
      `more than one ${resourceType} has the identifier of the study's ${resourceType}`,
    );
  }
  return found[0];
}

/** The id of the Patient a study is filed under (`subject: Patient/<id>`), when it is one. */
export function subjectPatientId(study: { subject?: { reference?: string } } | undefined): string | undefined {
  return /^Patient\/([^/]+)$/.exec(study?.subject?.reference ?? '')?.[1];
}
