import type { Identifier, Patient } from '@medplum/fhirtypes';
import { subjectAfterSnapshot } from './subject-correction';

const MRN = 'https://hospital.example/mrn';
const snapshot: Identifier = { system: MRN, value: 'PID-2' };
const patient = (...identifiers: Identifier[]): Patient => ({ resourceType: 'Patient', id: 'p1', identifier: identifiers });

test.each<[string, 'keep' | 'move', Patient | undefined]>([
  ['the stored Patient carries the snapshot\'s identifier', 'keep', patient({ system: MRN, value: 'PID-2' })],
  ['it carries it beside an older one of the same issuer (records merged)', 'keep', patient({ system: MRN, value: 'PID-1' }, { system: MRN, value: 'PID-2' })],
  ['it carries the same issuer\'s identifier with another value only (a patient update)', 'move', patient({ system: MRN, value: 'PID-1' })],
  ['it also carries another issuer\'s identifier', 'move', patient({ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '1800000000000' }, { system: MRN, value: 'PID-1' })],
  ['it carries only another issuer\'s identifiers (another node\'s record)', 'keep', patient({ system: 'https://other.example/mrn', value: 'PID-1' })],
  ['it has no identifier', 'keep', patient()],
  ['it cannot be read', 'keep', undefined],
  ['the values differ in case only (identifiers are exact)', 'move', patient({ system: MRN, value: 'pid-2' })],
])('when %s: %s', (_situation, expected, stored) => {
  expect(subjectAfterSnapshot(stored, snapshot)).toBe(expected);
});
