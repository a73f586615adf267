import type { ImagingStudy, OperationOutcome, Patient, Resource } from '@medplum/fhirtypes';
import type { FhirClient } from '@imaging-facade/fhir';

/** Reads of a real FHIR server for integration tests, as an EHR app would make them. */
export function fhirServer(fhir: FhirClient) {
  return {
    /** ImagingStudies whose identifier value is `urn:oid:<uid>`, in any system. */
    studiesByUid: (uid: string): Promise<ImagingStudy[]> =>
      fhir.search('ImagingStudy', { identifier: `urn:oid:${uid}` }),
    patientsByIdentifier: (value: string): Promise<Patient[]> =>
      fhir.search('Patient', { identifier: value.replace(/[\\|,$]/g, (c) => `\\${c}`) }),
    async patient(reference: string): Promise<Patient> {
      const [patient] = await fhir.search('Patient', { _id: reference.replace(/^Patient\//, '') });
      if (!patient) {
        throw new Error(`${reference} not found`);
      }
      return patient;
    },
    /** The server's own `$validate` (R4 base definitions): its error and fatal issues. */
    async validationErrors(resource: Resource): Promise<string[]> {
      const response = await fetch(`${fhir.baseUrl}/${resource.resourceType}/$validate`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
        body: JSON.stringify(resource),
      });
      const outcome = (await response.json()) as OperationOutcome;
      return (outcome.issue ?? [])
        .filter((issue) => issue.severity === 'error' || issue.severity === 'fatal')
        .map((issue) => `${issue.expression?.join(',') ?? ''} ${issue.diagnostics ?? ''}`.trim());
    },
  };
}
