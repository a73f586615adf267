import type { CapabilityStatement } from '@medplum/fhirtypes';
import { fhirReadiness } from './readiness';

describe('FHIR readiness', () => {
  it('is ready when metadata answers a CapabilityStatement', async () => {
    const check = fhirReadiness({
      metadata: async () => ({ resourceType: 'CapabilityStatement' }) as CapabilityStatement,
    });
    expect(check.name).toBe('fhir');
    await expect(check.probe()).resolves.toBeUndefined();
  });

  it('is not ready when metadata answers something else', async () => {
    const check = fhirReadiness({
      metadata: async () => ({ resourceType: 'OperationOutcome' }) as unknown as CapabilityStatement,
    });
    await expect(check.probe()).rejects.toThrow(/CapabilityStatement/);
  });

  it('is not ready when metadata fails', async () => {
    const check = fhirReadiness({ metadata: async () => Promise.reject(new Error('down')) });
    await expect(check.probe()).rejects.toThrow('down');
  });
});
