import type { Bundle, Consent } from '@medplum/fhirtypes';
import type { FhirClient } from '@imaging-facade/fhir';
import { ConsentStore } from './consent-store';

const patient = { system: 'urn:oid:1.2.250.1.71.4.2.7', value: 'P1' };
const refusal = (reference: string): Consent => ({ resourceType: 'Consent', status: 'active', scope: {}, category: [], patient: { reference }, provision: { type: 'deny' } });

/** A FHIR server holding these Patient records for the identifier; what it is sent is kept. */
function serverWith(records: string[]) {
  const sent: Bundle[] = [];
  const searched: Record<string, string>[] = [];
  const fhir = {
    search: async (_type: string, params: Record<string, string>) => {
      searched.push(params);
      return records.slice(0, Number(params._count)).map((id) => ({ resourceType: 'Patient', id }));
    },
    transaction: async (bundle: Bundle) => {
      sent.push(bundle);
      return { resourceType: 'Bundle', type: 'transaction-response', entry: (bundle.entry ?? []).map((entry) => ({ response: { status: '201', location: `${entry.request?.url}/55/_history/1` } })) };
    },
  } as unknown as FhirClient;
  return { store: new ConsentStore(fhir), sent, searched };
}

describe('ConsentStore.commit names the Patient record of the identifier', () => {
  test('when two records carry it, the Consent names the first and no Patient is created (a conditional create would be refused: 412)', async () => {
    const { store, sent, searched } = serverWith(['7', '8', '9']);

    const { consentId } = await store.commit({ patient, create: refusal, inactivate: [] });

    expect(consentId).toBe('55');
    expect(searched).toEqual([expect.objectContaining({ _sort: '_id', _count: '2' })]);
    expect(sent[0]!.entry!.map((entry) => [entry.request?.method, entry.request?.url, (entry.resource as Consent).patient?.reference])).toEqual([['POST', 'Consent', 'Patient/7']]);
  });

  test('the records the caller looked up are used as they are, without a second look-up', async () => {
    const { store, sent, searched } = serverWith([]);
    await store.commit({ patient, patientRecords: ['8', '9'], create: refusal, inactivate: [] });
    expect(searched).toEqual([]);
    expect((sent[0]!.entry![0]!.resource as Consent).patient?.reference).toBe('Patient/8');
  });

  test('when none carries it, the Patient is conditionally created on the identifier in the same transaction', async () => {
    const { store, sent } = serverWith([]);
    await store.commit({ patient, create: refusal, inactivate: [] });
    const [create, consent] = sent[0]!.entry!;
    expect(create!.request).toEqual({ method: 'POST', url: 'Patient', ifNoneExist: expect.stringMatching(/^identifier=/) });
    expect((consent!.resource as Consent).patient?.reference).toBe(create!.fullUrl);
  });

  test('patientRecords tells one record from several', async () => {
    expect(await serverWith(['7']).store.patientRecords(patient)).toEqual(['7']);
    expect(await serverWith(['7', '8', '9']).store.patientRecords(patient)).toEqual(['7', '8']);
  });
});
