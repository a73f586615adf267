import type { Consent } from '@medplum/fhirtypes';
import { patientIdentityOf, type PatientIdentifier } from '@imaging-facade/events';
import { createFhirClient, identifierToken } from '@imaging-facade/fhir';
import { ConsentStore } from './consent-store';
import { DESK_CONSENT_TAG } from './consent-resource';

/** Against a real HAPI FHIR server (FHIR_BASE_URL). */
const fhir = createFhirClient({ baseUrl: process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir', timeoutMs: 30_000 });
const store = new ConsentStore(fhir);
const run = Date.now().toString(36);
let count = 0;

/** The identity the mapper indexes a study under when its IssuerOfPatientID is 64 Japanese characters. */
function longIssuerPatient(): PatientIdentifier {
  count += 1;
  const issuer = `${run}${count}${'東'.repeat(64)}`.slice(0, 64);
  const study = { '00100020': { vr: 'LO', Value: [`PM-${run}-${count}`] }, '00100021': { vr: 'LO', Value: [issuer] } };
  const { system, value } = patientIdentityOf(study, 'https://imagingfacade.org/fhir/sid/patient-id')!;
  return { system, value };
}

const refusal = (patient: PatientIdentifier) => ({
  patient,
  create: (reference: string): Consent => ({
    resourceType: 'Consent',
    meta: { tag: [DESK_CONSENT_TAG] },
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference },
    provision: { type: 'deny' },
  }),
  inactivate: [],
});

const patientsWith = (patient: PatientIdentifier) => fhir.search('Patient', { identifier: identifierToken(patient), _count: '5' });

describe('the desk stores a decision for a patient whose identifier is longer than HAPI stores of a match URL', () => {
  it('when the issuer is 64 Japanese characters, the decision is stored under one Patient, twice over', async () => {
    const patient = longIssuerPatient();
    const first = await store.commit(refusal(patient));
    const second = await store.commit(refusal(patient));

    const patients = await patientsWith(patient);
    expect(patients).toHaveLength(1);
    expect(await store.patientExists(patient)).toBe(true);
    const consents = await store.activeConsents(patient);
    expect(consents.map((consent) => consent.id).sort()).toEqual([first.consentId, second.consentId].sort());
    expect(consents.every((consent) => consent.patient?.reference === `Patient/${patients[0]!.id}`)).toBe(true);
  });

  it('when another system made the Patient (no tag of ours), the decision refers to it and no second Patient is made', async () => {
    const patient = longIssuerPatient();
    const bundle = await fhir.transaction({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient', identifier: [patient] }, request: { method: 'POST', url: 'Patient' } }] });
    const made = /Patient\/([^/]+)/.exec(bundle.entry?.[0]?.response?.location ?? '')?.[1];

    const { consentId } = await store.commit(refusal(patient));

    expect(await patientsWith(patient)).toEqual([expect.objectContaining({ id: made })]);
    const [consent] = await store.activeConsents(patient);
    expect(consent).toMatchObject({ id: consentId, patient: { reference: `Patient/${made}` } });
  });
});
