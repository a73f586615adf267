import type { ReadinessCheck } from '@imaging-facade/service-kit';
import type { FhirClient } from './client';

/** Ready when the FHIR server answers `GET [base]/metadata` with its CapabilityStatement. */
export function fhirReadiness(client: Pick<FhirClient, 'metadata'>): ReadinessCheck {
  return {
    name: 'fhir',
    probe: async () => {
      const statement = await client.metadata();
      if (statement.resourceType !== 'CapabilityStatement') {
        throw new Error('metadata did not answer a CapabilityStatement');
      }
    },
  };
}
