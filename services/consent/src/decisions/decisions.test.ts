import { Writable } from 'node:stream';
import type { Consent } from '@medplum/fhirtypes';
import { Registry } from 'prom-client';
import type { ConsentDecision } from '@imaging-facade/events';
import { createLogger } from '@imaging-facade/service-kit';
import { buildConsent, DESK_CONSENT_TAG } from './consent-resource';
import type { ConsentStore } from './consent-store';
import { DecisionService, maySharePatientStudies, sameDecisions, SeveralPatientRecordsError, topicLags } from './decisions';
import type { StatePublisher } from './state-publisher';

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

describe('topicLags (must FHIR\'s state be announced over the topic\'s?)', () => {
  const order = (lastUpdated: string, versions: number) => ({ lastUpdated, versions });
  const inFhir = (...decisions: ConsentDecision[]) => ({ ...state(...decisions), fhirOrder: order('2026-12-07T10:00:00.000+00:00', 3) });
  test.each([
    ['the same decisions, the same place in FHIR order', inFhir(deny), { ...state(deny), fhirOrder: order('2026-12-07T10:00:00.000Z', 3) }, false],
    ['the same decisions, read before a later change of FHIR', inFhir(deny), { ...state(deny), fhirOrder: order('2026-12-07T10:00:00.000Z', 2) }, true],
    ['the same decisions, published before fhirOrder existed', inFhir(deny), state(deny), true],
    ['other decisions (a crash between FHIR and Kafka)', inFhir(deny), { ...state(studyPermit), fhirOrder: order('2026-12-07T09:00:00.000Z', 1) }, true],
    ['nothing in force, nothing on the topic', inFhir(), undefined, false],
    ['the same decisions, the topic later than FHIR (a Consent deleted): the views keep theirs anyway', inFhir(deny), { ...state(deny), fhirOrder: order('2026-12-07T11:00:00.000Z', 3) }, false],
  ])('%s', (_situation, fhir, known, expected) => {
    expect(topicLags(fhir, known)).toBe(expected);
  });
});

describe('DecisionService.reconcile', () => {
  const settings = { policyUri: 'urn:imaging-facade:consent-policy:opt-out', organization: { name: 'Imaging Facade' } };
  const refusal: Consent = {
    ...buildConsent({ patient, provision: 'deny', recordedAt: '2026-12-07T10:00:00.000Z', recordedBy: 'desk' }, settings, 'Patient/7'),
    id: '1',
    meta: { versionId: '1', lastUpdated: '2026-12-07T10:00:00.000+00:00', tag: [DESK_CONSENT_TAG] },
  };

  function desk() {
    const store = { patientConsents: jest.fn().mockResolvedValue([refusal]) };
    const publish = jest.fn().mockResolvedValue(true);
    const decisions = new DecisionService({
      store: store as unknown as ConsentStore,
      publisher: { publish } as unknown as StatePublisher,
      catalog: { study: () => undefined, studiesOf: () => [] },
      settings,
      logger: createLogger('test', 'silent'),
      pseudonymize: () => 'pt-p1',
      metrics: new Registry(),
    });
    return { decisions, store, publish };
  }

  test('announces FHIR\'s state where the topic lacks it, as a decision is announced (FHIR read again after publishing)', async () => {
    const { decisions, store, publish } = desk();
    await expect(decisions.reconcile(patient, () => undefined)).resolves.toBe(true);
    expect(publish).toHaveBeenCalledWith(expect.objectContaining({ decisions: [expect.objectContaining({ consentId: '1', provision: 'deny' })], fhirOrder: { lastUpdated: '2026-12-07T10:00:00.000+00:00', versions: 1 } }));
    expect(store.patientConsents).toHaveBeenCalledTimes(2);
    expect(decisions.unannouncedCount).toBe(0);
  });

  test('announces nothing where the topic holds FHIR\'s state; reads the topic once FHIR has answered', async () => {
    const { decisions, publish } = desk();
    const known = jest.fn(() => ({ ...state({ ...deny, recordedAt: '2026-12-07T10:00:00.000Z' }), fhirOrder: { lastUpdated: '2026-12-07T10:00:00.000Z', versions: 1 } }));
    await expect(decisions.reconcile(patient, known)).resolves.toBe(false);
    expect(known).toHaveBeenCalledTimes(1);
    expect(publish).not.toHaveBeenCalled();
  });
});

describe('when several Patient records carry the identifier', () => {
  const settings = { policyUri: 'urn:imaging-facade:consent-policy:opt-out', organization: { name: 'Imaging Facade' } };
  const stored = (id: string, provision: 'permit' | 'deny'): Consent => ({
    ...buildConsent({ patient, provision, recordedAt: '2026-12-01T10:00:00.000Z', recordedBy: 'desk' }, settings, 'Patient/7'),
    id,
    meta: { versionId: '1', lastUpdated: '2026-12-01T10:00:00.000Z', tag: [DESK_CONSENT_TAG] },
  });

  /** A desk over a FHIR server whose Patient records and Consents in force are these. */
  function deskWith(patientRecords: string[], active: Consent[] = []) {
    const commit = jest.fn<ReturnType<ConsentStore['commit']>, Parameters<ConsentStore['commit']>>().mockResolvedValue({ consentId: '100' });
    const store = {
      patientRecords: jest.fn().mockResolvedValue(patientRecords),
      activeConsents: jest.fn().mockResolvedValue(active),
      patientConsents: jest.fn().mockResolvedValue(active),
      commit,
    };
    const lines: string[] = [];
    const logger = createLogger('test', 'info', new Writable({ write: (chunk, _encoding, done) => void (lines.push(String(chunk)), done()) }));
    const decisions = new DecisionService({
      store: store as unknown as ConsentStore,
      publisher: { publish: jest.fn().mockResolvedValue(true) } as unknown as StatePublisher,
      catalog: { study: () => undefined, studiesOf: () => [] },
      settings,
      logger,
      pseudonymize: (key) => (key === `${patient.system}|${patient.value}` ? 'pt-p1' : 'pt-other'),
      metrics: new Registry(),
    });
    return { decisions, commit, lines };
  }

  test.each([
    ['an agreement', true, { provision: 'permit', ending: [] }],
    ['a refusal', false, { provision: 'deny', ending: [] }],
    ['a refusal replacing an agreement', false, { provision: 'deny', ending: [stored('1', 'permit')] }],
    ['the end of a refusal', true, { ending: [stored('1', 'deny')] }],
    ['the end of an agreement', false, { ending: [stored('1', 'permit')] }],
    ['the end of nothing', false, { ending: [] }],
  ] as const)('%s may share: %s', (_change, expected, change) => {
    expect(maySharePatientStudies(change)).toBe(expected);
  });

  test('a refusal is recorded against the first record, and the log names the patient by pseudonym only', async () => {
    const { decisions, commit, lines } = deskWith(['7', '8']);
    const result = await decisions.record({ patient, provision: 'deny', user: 'desk' });
    expect(result.consentId).toBe('100');
    expect(commit).toHaveBeenCalledWith(expect.objectContaining({ patientRecords: ['7', '8'] }));
    const logged = lines.map((line) => JSON.parse(line) as { msg: string; patient?: string });
    expect(logged).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/^several Patient records carry the identifier: the refusal is recorded/), patient: 'pt-p1' }));
    expect(lines.join('')).not.toContain(patient.value);
  });

  test.each([
    ['for all studies', undefined],
    ['for one study', { studyInstanceUid: '1.2.3' }],
  ])('an agreement %s is refused with a 409 (multiple-matches), and nothing is written', async (_scope, study) => {
    const { decisions, commit } = deskWith(['7', '8']);
    const refused = decisions.record({ patient, provision: 'permit', study, user: 'desk' });
    await expect(refused).rejects.toBeInstanceOf(SeveralPatientRecordsError);
    await expect(refused).rejects.toMatchObject({ status: 409, result: { outcome: { issue: [{ code: 'multiple-matches' }] } } });
    expect(commit).not.toHaveBeenCalled();
  });

  test('the end of a refusal is refused; the end of an agreement is written', async () => {
    const refusal = deskWith(['7', '8'], [stored('1', 'deny')]);
    await expect(refusal.decisions.revoke({ patient, user: 'desk' })).rejects.toBeInstanceOf(SeveralPatientRecordsError);
    expect(refusal.commit).not.toHaveBeenCalled();

    const agreement = deskWith(['7', '8'], [stored('2', 'permit')]);
    await expect(agreement.decisions.revoke({ patient, user: 'desk' })).resolves.toMatchObject({ inactivated: ['2'] });
  });

  test('with one record, an agreement is recorded as before', async () => {
    const { decisions, commit } = deskWith(['7']);
    await expect(decisions.record({ patient, provision: 'permit', user: 'desk' })).resolves.toMatchObject({ consentId: '100' });
    expect(commit).toHaveBeenCalledWith(expect.objectContaining({ patientRecords: ['7'] }));
  });
});
