import type { PatientConsent } from '../decisions/patient-consent';
import { patientPage } from './views';

const consent: PatientConsent = {
  patient: { system: 'urn:oid:1.2.3', value: 'IPP-1' },
  key: 'urn:oid:1.2.3|IPP-1',
  policy: 'opt-out',
  decisions: [],
  studies: [],
  cumulativeDose: [
    { label: 'CT Dose Length Product Total', value: 1234.5, unit: 'mGy.cm' },
    { label: 'Accumulated Average Glandular Dose, left breast', value: 1.25, unit: 'mGy' },
  ],
};

describe('the patient page', () => {
  it.each([
    ['fr', 'Dose cumulée (tous les examens)', ['CT Dose Length Product Total: 1\u202f234,5 mGy.cm', 'Accumulated Average Glandular Dose, left breast: 1,25 mGy']],
    ['en', 'Cumulative radiation dose (all studies)', ['CT Dose Length Product Total: 1,234.5 mGy.cm', 'Accumulated Average Glandular Dose, left breast: 1.25 mGy']],
  ] as const)('shows the cumulative dose per dose type, in %s', (language, heading, lines) => {
    const page = patientPage({ language, path: '/patients/x' }, consent);
    expect(page).toContain(heading);
    for (const line of lines) expect(page).toContain(`<li>${line}</li>`);
  });

  it.each([
    ['en', 'A study agreed on its own is shared with what identifies the patient'],
    ['fr', 'Un examen accepté à l’unité est partagé avec ce qui identifie le patient'],
  ] as const)('tells the desk, under a refusal of all studies, that a study agreed on its own is shared with the patient\'s identity (%s)', (language, hint) => {
    const refusal = { scope: 'patient', provision: 'deny', consentId: 'c', recordedAt: '2026-01-01T00:00:00Z', recordedBy: 'desk' } as const;
    expect(patientPage({ language, path: '/patients/x' }, { ...consent, patientDecision: refusal, decisions: [refusal] })).toContain(hint);
    expect(patientPage({ language, path: '/patients/x' }, consent)).not.toContain(hint);
  });

  it.each([
    ['en', 'Several patient records carry this identifier: they must be merged'],
    ['fr', 'Plusieurs dossiers patient portent cet identifiant : ils doivent être fusionnés'],
  ] as const)('says, when an agreement was refused because several patient records carry the identifier, that they must be merged first (%s)', (language, alert) => {
    expect(patientPage({ language, path: '/patients/x' }, consent, { severalPatientRecords: true })).toMatch(new RegExp(`<p class="alert" role="alert" id="several-patient-records">${alert}`));
    expect(patientPage({ language, path: '/patients/x' }, consent)).not.toContain('several-patient-records');
  });

  it('shows no dose line for a patient without any dose report', () => {
    expect(patientPage({ language: 'en', path: '/patients/x' }, { ...consent, cumulativeDose: [] })).not.toContain('Cumulative radiation dose');
  });
});
