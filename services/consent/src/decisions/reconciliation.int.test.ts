import { ConsentView, stateOrderOf } from '@imaging-facade/consent';
import { eventually, testKafka, uniquePrefix } from '@imaging-facade/consent/src/test-support/kafka';
import { testUid } from '@imaging-facade/consent/src/test-support/snapshots';
import { patientKey, type PatientIdentifier } from '@imaging-facade/events';
import { createFhirClient } from '@imaging-facade/fhir';
import { createLogger } from '@imaging-facade/service-kit';
import { api, startDesk, type RunningDesk } from '../test-support/desk';
import { buildConsent } from './consent-resource';
import { ConsentStore } from './consent-store';

const INTERVAL_MS = 500;
const settings = { policyUri: 'urn:imaging-facade:consent-policy:opt-out', organization: { name: 'Imaging Facade' } };
const newPatient = (): PatientIdentifier => ({ system: 'urn:oid:1.2.250.1.71.4.2.7', value: `IPP-${testUid().slice(-10)}` });
const provisions = (view: ConsentView, patient: PatientIdentifier) => view.stateOf(patient)?.decisions.map((decision) => decision.provision).join(',') ?? 'none';

/**
 * What a desk that died between its FHIR transaction and its announcement leaves behind (kill -9,
 * OOM, host lost): the transaction DecisionService writes, superseding what is in force for the
 * scope, and nothing on Kafka.
 */
async function crashedDeskWrites(store: ConsentStore, patient: PatientIdentifier, provision: 'permit' | 'deny' | 'revoke'): Promise<string | undefined> {
  const inForce = await store.activeConsents(patient);
  const { consentId } = await store.commit({
    patient,
    ...(provision === 'revoke'
      ? {}
      : { create: (reference: string) => buildConsent({ patient, provision, recordedAt: new Date().toISOString(), recordedBy: 'desk' }, settings, reference) }),
    inactivate: inForce,
  });
  return consentId;
}

describe('every running desk reconciles the decisions topic with FHIR periodically (CONSENT_RECONCILE_INTERVAL_MS)', () => {
  let prefix: string;
  const desks: RunningDesk[] = [];
  let otherView: ConsentView;
  /** Every state another service's view applied, per patient key. */
  const applied = new Map<string, string[]>();
  const store = new ConsentStore(createFhirClient({ baseUrl: process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir', timeoutMs: 15_000 }));

  beforeAll(async () => {
    prefix = uniquePrefix();
    // Two desks running, each sweeping; the desk that "crashes" is the test itself.
    for (let i = 0; i < 2; i++) {
      // debug: each sweep's line.
      desks.push(await startDesk({ KAFKA_TOPIC_PREFIX: prefix, CONSENT_RECONCILE_INTERVAL_MS: String(INTERVAL_MS), LOG_LEVEL: 'debug' }));
    }
    // Another service's view of the decisions (the mapper's, the gateway's, DICOMweb's).
    otherView = new ConsentView({ kafka: testKafka(), topicPrefix: prefix, policy: 'opt-out', logger: createLogger('other', 'silent') });
    otherView.onChange((key, state) => void applied.set(key, [...(applied.get(key) ?? []), state?.decisions.map((decision) => decision.provision).join(',') ?? 'none']));
    await otherView.start();
    await otherView.ready();
  });

  afterAll(async () => {
    await otherView?.stop();
    await Promise.all(desks.splice(0).map((desk) => desk.stop()));
  });

  test('a refusal stored in FHIR by a desk that died before announcing it reaches another service within the interval, with no restart; then nothing is announced again', async () => {
    const patient = newPatient();
    const study = testUid();
    const recorded = await api(desks[0]!, 'POST', '/api/decisions', { patient, decision: 'permit' });
    expect(recorded.status).toBe(201);
    await eventually(() => (provisions(otherView, patient) === 'permit' ? true : undefined), 'the agreement on the other view');
    expect(otherView.decide(patient, { studyInstanceUid: study })).toBe('share');

    const refusal = await crashedDeskWrites(store, patient, 'deny');
    const started = Date.now();
    const seen = await eventually(() => (provisions(otherView, patient) === 'deny' ? otherView.stateOf(patient) : undefined), 'the refusal on the other view', 10_000);
    // Within the interval, give or take a sweep under way and the FHIR reads (a few hundred ms here).
    expect(Date.now() - started).toBeLessThan(5 * INTERVAL_MS + 3_000);
    expect(seen.decisions.map((decision) => decision.consentId)).toEqual([refusal]);
    expect(seen.fhirOrder).toEqual(stateOrderOf(await store.patientConsents(patient)));
    expect(otherView.decide(patient, { studyInstanceUid: study })).toBe('withhold');

    // The desks name the patient by pseudonym only (the line is written once FHIR was read again after publishing).
    // (The shared FHIR server holds other tests' patients too: the desks' start-up announced them on this topic.)
    // Each test desk has a data directory, so a pseudonym key, of its own.
    const healed = () => desks.flatMap((desk) => desk.logs.filter((line) => line.includes('consent state re-announced from FHIR') && line.includes(desk.pseudonymize(patientKey(patient)))));
    await eventually(() => (healed().length > 0 ? true : undefined), "the desk's line");
    expect(desks.flatMap((desk) => desk.logs).some((line) => line.includes(patient.value))).toBe(false);

    // Once the topic agrees with FHIR, the next sweeps, which still see the change in their margin, announce nothing.
    const announcements = applied.get(patientKey(patient))!.length;
    const sweeps = () => desks.flatMap((desk) => desk.logs).filter((line) => line.includes('"msg":"consent reconciliation sweep"')).length;
    const before = sweeps();
    await eventually(() => (sweeps() >= before + 6 ? true : undefined), 'three more sweeps on each desk', 10_000);
    expect(applied.get(patientKey(patient))!.length).toBe(announcements);
  });

  test('a revocation stored in FHIR by a desk that died before announcing it ends the refusal on another service', async () => {
    const patient = newPatient();
    expect((await api(desks[1]!, 'POST', '/api/decisions', { patient, decision: 'deny' })).status).toBe(201);
    await eventually(() => (provisions(otherView, patient) === 'deny' ? true : undefined), 'the refusal on the other view');

    await crashedDeskWrites(store, patient, 'revoke');
    await eventually(() => (otherView.stateOf(patient) === undefined ? true : undefined), 'the revocation on the other view', 10_000);
    expect(otherView.decide(patient, { studyInstanceUid: testUid() })).toBe('share');
  });
});
