import type { Patient } from '@medplum/fhirtypes';
import { WITHHELD_LABEL, type PatientConsentState } from '@imaging-facade/consent';
import type { ConsentDecision, PatientIdentifier } from '@imaging-facade/events';
import { labelChange } from './withheld-label';

const MRN = { system: 'urn:oid:1.2.250.1.999.1', value: 'P1' };
const REGIONAL = { system: 'urn:oid:1.2.250.1.999.2', value: 'R1' };

const decision = (provision: 'permit' | 'deny', study?: string): ConsentDecision =>
  study
    ? { scope: 'study', study: { studyInstanceUid: study }, provision, consentId: 'c', recordedAt: '2025-01-01T10:00:00Z', recordedBy: 'desk' }
    : { scope: 'patient', provision, consentId: 'c', recordedAt: '2025-01-01T10:00:00Z', recordedBy: 'desk' };

const label = { ...WITHHELD_LABEL };
const patient = (identifier: PatientIdentifier[], security: Array<{ system: string; code: string }> = []): Pick<Patient, 'identifier' | 'meta'> => ({
  identifier,
  meta: { security },
});

describe('labelChange: what the label of a Patient must become', () => {
  test.each<[string, Pick<Patient, 'identifier' | 'meta'>, Array<[PatientIdentifier, ConsentDecision[]]>, string | undefined]>([
    ['a refuser without the label: added', patient([MRN]), [[MRN, [decision('deny')]]], '$meta-add'],
    ['a refuser with it: nothing to do', patient([MRN], [label]), [[MRN, [decision('deny')]]], undefined],
    ['no refusal any more, the label still on: removed', patient([MRN], [label]), [[MRN, [decision('permit')]]], '$meta-delete'],
    ['no decision at all, no label: nothing to do', patient([MRN]), [], undefined],
    ['a refusal of one study: the record is shown, no label', patient([MRN]), [[MRN, [decision('deny', '1.2.3')]]], undefined],
    ['the refusal kept under the record\'s other identifier: added', patient([MRN, REGIONAL]), [[REGIONAL, [decision('deny')]]], '$meta-add'],
    ['another label of the same system, another code: not ours, added', patient([MRN], [{ system: WITHHELD_LABEL.system, code: 'other' }]), [[MRN, [decision('deny')]]], '$meta-add'],
    ['a record without any identifier a decision can name: no label', patient([{ system: '', value: 'P1' }], [label]), [[MRN, [decision('deny')]]], '$meta-delete'],
  ])('%s', (_situation, resource, states, expected) => {
    const byKey = new Map(states.map(([identifier, decisions]) => [`${identifier.system}|${identifier.value}`, { patient: identifier, decisions, updatedAt: '2025-01-01T10:00:00Z' } satisfies PatientConsentState]));
    expect(labelChange(resource, (identifier) => byKey.get(`${identifier.system}|${identifier.value}`))).toBe(expected);
  });
});
