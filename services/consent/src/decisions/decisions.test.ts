import type { ConsentDecision } from '@imaging-facade/events';
import { sameDecisions } from './decisions';

const patient = { system: 'urn:oid:1.2.250.1.71.4.2.7', value: 'P1' };
const deny: ConsentDecision = { scope: 'patient', provision: 'deny', consentId: '1', recordedAt: '2025-01-01T10:00:00Z', recordedBy: 'desk' };
const studyPermit: ConsentDecision = { scope: 'study', study: { studyInstanceUid: '1.2.3' }, provision: 'permit', consentId: '2', recordedAt: '2025-01-01T10:01:00Z', recordedBy: 'desk' };
const state = (...decisions: ConsentDecision[]) => ({ patient, decisions, updatedAt: '2025-01-02T00:00:00Z' });

describe('sameDecisions (does the topic agree with FHIR?)', () => {
  test.each([
    ['the same decisions in another order, another updatedAt', state(deny, studyPermit), { ...state(studyPermit, deny), updatedAt: 'x' }, true],
    ['no state and an empty state', undefined, state(), true],
    ['a decision missing on the topic', state(deny), undefined, false],
    ['a decision the topic still has but FHIR no longer', state(), state(deny), false],
    ['the same Consent saying something else', state(deny), state({ ...deny, provision: 'permit' }), false],
    ['another Consent for the same scope', state(deny), state({ ...deny, consentId: '9' }), false],
  ])('%s', (_situation, a, b, expected) => {
    expect(sameDecisions(a, b)).toBe(expected);
  });
});
