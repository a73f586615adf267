import type { Consent } from '@medplum/fhirtypes';
import { buildConsent, decisionOfConsent, inactivated, patientOfConsent, type DecisionInput } from './consent-resource';

const settings = {
  policyUri: 'urn:imaging-facade:consent-policy:opt-out',
  organization: { name: 'CHU Exemple', identifier: { system: 'urn:oid:1.2.250.1.71.4.2.2', value: '330000001' } },
};
const patient = { system: 'urn:oid:1.2.250.1.71.4.2.7', value: 'P1' };
const base: DecisionInput = { patient, provision: 'deny', recordedAt: '2025-03-01T09:30:00.000Z', recordedBy: 'desk' };

describe('buildConsent (IHE PCF privacy consent)', () => {
  const consent = buildConsent(base, settings, 'urn:uuid:0f3c8a4e-1d2b-4c5d-9e8f-001122334455');

  test.each<[string, (c: Consent) => unknown, unknown]>([
    ['status active', (c) => c.status, 'active'],
    ['scope patient-privacy', (c) => c.scope.coding?.[0], { system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy', display: 'Privacy Consent' }],
    ['category LOINC 59284-0', (c) => c.category[0]?.coding?.[0], { system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }],
    ['the patient by reference, with the identifier kept', (c) => c.patient, { reference: 'urn:uuid:0f3c8a4e-1d2b-4c5d-9e8f-001122334455', identifier: patient }],
    ['dateTime when it was recorded', (c) => c.dateTime, '2025-03-01T09:30:00.000Z'],
    ['performer: the desk account', (c) => c.performer, [{ type: 'Practitioner', identifier: { system: 'https://imagingfacade.org/fhir/sid/consent-desk-user', value: 'desk' }, display: 'desk' }]],
    ['organization: name and identifier', (c) => c.organization, [{ display: 'CHU Exemple', identifier: settings.organization.identifier }]],
    ['policy: the deployment policy', (c) => c.policy, [{ uri: 'urn:imaging-facade:consent-policy:opt-out' }]],
    ['provision deny, no data: all studies', (c) => c.provision, { type: 'deny' }],
    ['tagged as a desk consent', (c) => c.meta?.tag?.[0]?.code, 'imaging-sharing'],
  ])('%s', (_element, read, expected) => {
    expect(read(consent)).toEqual(expected);
  });

  test('the narrative carries no patient data', () => {
    expect(consent.text?.div).not.toContain('P1');
    expect(consent.text?.div).toContain('refused');
  });

  test('one study by UID: provision.data names the ImagingStudy by its DICOM UID', () => {
    const one = buildConsent({ ...base, provision: 'permit', study: { studyInstanceUid: '1.2.3.4' } }, settings, 'Patient/7');
    expect(one.provision).toEqual({
      type: 'permit',
      data: [{ meaning: 'instance', reference: { type: 'ImagingStudy', identifier: { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3.4' } } }],
    });
  });

  test('one study by accession number: an ACSN identifier', () => {
    const one = buildConsent({ ...base, study: { accessionNumber: 'ACC-9' } }, settings, 'Patient/7');
    expect(one.provision?.data?.[0]?.reference?.identifier).toEqual({
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] },
      value: 'ACC-9',
    });
  });

  test('an organization without identifier is named only', () => {
    expect(buildConsent(base, { ...settings, organization: { name: 'X' } }, 'Patient/7').organization).toEqual([{ display: 'X' }]);
  });

  test('inactivating changes the status only', () => {
    const stored = { ...consent, id: '42', meta: { versionId: '1' } };
    expect(inactivated(stored)).toEqual({ ...stored, status: 'inactive' });
  });
});

describe('decisionOfConsent (reading a stored Consent back)', () => {
  test.each<[string, DecisionInput, object]>([
    ['a patient-wide refusal', base, { scope: 'patient', provision: 'deny' }],
    ['a study permit by UID', { ...base, provision: 'permit', study: { studyInstanceUid: '1.2.3.4' } }, { scope: 'study', study: { studyInstanceUid: '1.2.3.4' }, provision: 'permit' }],
    ['a study refusal by accession', { ...base, study: { accessionNumber: 'A1' } }, { scope: 'study', study: { accessionNumber: 'A1' }, provision: 'deny' }],
  ])('%s round-trips', (_situation, input, expected) => {
    const stored: Consent = { ...buildConsent(input, settings, 'Patient/7'), id: 'c1', dateTime: '2025-03-01T10:30:00+01:00' };
    expect(decisionOfConsent(stored)).toEqual({ ...expected, consentId: 'c1', recordedAt: '2025-03-01T09:30:00.000Z', recordedBy: 'desk' });
    expect(patientOfConsent(stored)).toEqual(patient);
  });

  test('a Consent the desk did not write (no desk performer) is not a decision', () => {
    const foreign: Consent = { ...buildConsent(base, settings, 'Patient/7'), id: 'c1', performer: [{ reference: 'Patient/7' }] };
    expect(decisionOfConsent(foreign)).toBeUndefined();
  });
});
