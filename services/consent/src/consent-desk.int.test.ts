import { createHash } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { ConsentView } from '@imaging-facade/consent';
import { connectedProducer, eventually, sendStudy, testKafka, uniquePrefix } from '@imaging-facade/consent/src/test-support/kafka';
import { studySnapshot, testUid } from '@imaging-facade/consent/src/test-support/snapshots';
import { patientKey, type PatientIdentifier, type StudyCompletedV1Data } from '@imaging-facade/events';
import { createFhirClient, CUMULATIVE_DOSE_CODE } from '@imaging-facade/fhir';
import { createLogger } from '@imaging-facade/service-kit';
import { validationErrors } from '../../../test/support/fhir';
import { buildConsent } from './decisions/consent-resource';
import { ConsentStore } from './decisions/consent-store';
import { api, fhirGet, pageSignIn, startDesk, type RunningDesk } from './test-support/desk';

const SYSTEM = 'urn:oid:1.2.250.1.71.4.2.7';
const DEFAULT_SYSTEM = 'https://imagingfacade.org/fhir/sid/patient-id';
const newPatient = () => ({ system: SYSTEM, value: `IPP-${testUid().slice(-10)}` });
const key = (patient: { system: string; value: string }) => encodeURIComponent(`${patient.system}|${patient.value}`);

const FHIR_BASE_URL = process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';

/** A Patient made by another writer, with a plain create (no match on its identifier): an EHR import. */
async function plainPatient(patient: PatientIdentifier): Promise<string> {
  const response = await fetch(`${FHIR_BASE_URL}/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Patient', identifier: [patient] }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function patientRecordIds(patient: PatientIdentifier): Promise<string[]> {
  const bundle = await fhirGet(`Patient?identifier=${key(patient)}&_elements=identifier&_count=50`);
  return (bundle.entry ?? []).map((entry: any) => entry.resource.id).sort();
}

async function consentsOf(patient: PatientIdentifier): Promise<any[]> {
  const bundle = await fhirGet(`Consent?patient.identifier=${key(patient)}&_count=50`);
  return (bundle.entry ?? []).map((entry: any) => entry.resource);
}

describe('consent desk API against real Kafka and HAPI FHIR', () => {
  let prefix: string;
  let kafka: Kafka;
  let producer: Producer;
  let desk: RunningDesk;
  let otherView: ConsentView;

  beforeAll(async () => {
    prefix = uniquePrefix();
    kafka = testKafka();
    desk = await startDesk({ KAFKA_TOPIC_PREFIX: prefix });
    producer = await connectedProducer(kafka);
    // Another service's view of the decisions (the mapper's, the gateway's).
    otherView = new ConsentView({ kafka, topicPrefix: prefix, policy: 'opt-out', logger: createLogger('other', 'silent') });
    await otherView.start();
    await otherView.ready();
  });

  afterAll(async () => {
    await otherView?.stop();
    await producer?.disconnect();
    await desk?.stop();
  });

  describe('errors are OperationOutcomes', () => {
    test('without credentials: 401, WWW-Authenticate, OperationOutcome', async () => {
      const response = await api(desk, 'GET', `/api/patients/${key(newPatient())}/decision`, undefined, null);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      expect(response.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'login' }] });
    });

    test('with a wrong password: 401', async () => {
      const response = await api(desk, 'POST', '/api/decisions', {}, `Basic ${Buffer.from('desk:nope').toString('base64')}`);
      expect(response.status).toBe(401);
      expect(response.body.issue[0].diagnostics).toMatch(/Wrong user name or password/);
    });

    test.each([
      ['a body that is not JSON', '{"patient":', /not valid JSON/],
      ['no decision', { patient: newPatient() }, /decision: must be "permit" or "deny"/],
      ['a study that is not a UID', { patient: newPatient(), decision: 'deny', study: '1.2.abc' }, /study: not a DICOM UID/],
      ['a patient without system', { patient: { value: 'x' }, decision: 'deny' }, /patient\.system/],
    ])('%s: 400 saying why', async (_situation, body, diagnostics) => {
      const response = await api(desk, 'POST', '/api/decisions', body);
      expect(response.status).toBe(400);
      expect(response.body.resourceType).toBe('OperationOutcome');
      expect(response.body.issue[0].diagnostics).toMatch(diagnostics);
    });

    test('a patient parameter that is not system|value: 400', async () => {
      const response = await api(desk, 'GET', '/api/decisions?patient=123');
      expect(response.status).toBe(400);
      expect(response.body.issue[0].diagnostics).toMatch(/system\|value/);
    });

    test('an unknown patient: 404 on read and on revoke', async () => {
      const unknown = newPatient();
      for (const [method, path] of [
        ['GET', `/api/patients/${key(unknown)}/decision`],
        ['GET', `/api/decisions?patient=${key(unknown)}`],
        ['DELETE', `/api/patients/${key(unknown)}/decision`],
      ] as const) {
        const response = await api(desk, method, path);
        expect(response.status).toBe(404);
        expect(response.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-found' }] });
      }
    });
  });

  test('a refusal for a patient with no study yet is stored as a valid PCF Consent and announced to every service', async () => {
    const patient = newPatient();
    const response = await api(desk, 'POST', '/api/decisions', { patient, decision: 'deny' });
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe(`/api/patients/${key(patient)}/decision`);
    expect(response.body).toMatchObject({ announced: true, inactivated: [], consent: { patient, policy: 'opt-out', patientDecision: { scope: 'patient', provision: 'deny', recordedBy: 'desk' } } });

    const consent = await fhirGet(`Consent/${response.body.consentId}`);
    expect(consent).toMatchObject({
      status: 'active',
      scope: { coding: [{ code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      performer: [{ identifier: { value: 'desk' } }],
      organization: [{ display: 'Imaging Facade' }],
      policy: [{ uri: 'urn:imaging-facade:consent-policy:opt-out' }],
      provision: { type: 'deny' },
    });
    expect(await validationErrors(consent)).toEqual([]);
    // The Patient was created on its identifier, and the Consent refers to it.
    const stored = await fhirGet(consent.patient.reference);
    expect(stored.identifier).toContainEqual(patient);

    const seen = await eventually(() => otherView.stateOf(patient), 'the refusal in another service');
    expect(seen.decisions).toEqual([expect.objectContaining({ scope: 'patient', provision: 'deny', consentId: response.body.consentId })]);
    expect(otherView.decide(patient, { studyInstanceUid: testUid() })).toBe('withhold');
  });

  test('the patient is shown with their cumulative radiation dose, as the mapper writes it to the index', async () => {
    const patient = newPatient();
    const base = process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';
    const post = async (resource: object) => {
      const response = await fetch(`${base}/${(resource as { resourceType: string }).resourceType}`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(resource),
      });
      expect(response.status).toBe(201);
      return (await response.json()) as { id: string };
    };
    const stored = await post({ resourceType: 'Patient', identifier: [patient] });
    await post({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [CUMULATIVE_DOSE_CODE] },
      subject: { reference: `Patient/${stored.id}` },
      component: [
        { code: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '113813', display: 'CT Dose Length Product Total' }] }, valueQuantity: { value: 1234.5, unit: 'mGy.cm', system: 'http://unitsofmeasure.org', code: 'mGy.cm' } },
        { code: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '113722', display: 'Dose Area Product Total' }] }, valueQuantity: { value: 52, unit: 'mGy.cm2', system: 'http://unitsofmeasure.org', code: 'mGy.cm2' } },
      ],
    });

    const response = await api(desk, 'GET', `/api/patients/${key(patient)}`);
    expect(response.status).toBe(200);
    expect(response.body.cumulativeDose).toEqual([
      { label: 'CT Dose Length Product Total', value: 1234.5, unit: 'mGy.cm' },
      { label: 'Dose Area Product Total', value: 52, unit: 'mGy.cm2' },
    ]);
    // A patient without any dose report has none.
    const other = newPatient();
    await post({ resourceType: 'Patient', identifier: [other] });
    expect((await api(desk, 'GET', `/api/patients/${key(other)}`)).body.cumulativeDose).toEqual([]);
  });

  test('a new decision makes the earlier Consent inactive, and the history keeps both versions', async () => {
    const patient = newPatient();
    const refused = await api(desk, 'POST', '/api/decisions', { patient, decision: 'deny' });
    const agreed = await api(desk, 'POST', '/api/decisions', { patient, decision: 'permit' });
    expect(agreed.status).toBe(201);
    expect(agreed.body.inactivated).toEqual([refused.body.consentId]);
    expect(agreed.body.consent.decisions).toEqual([expect.objectContaining({ provision: 'permit', consentId: agreed.body.consentId })]);

    const history = await fhirGet(`Consent/${refused.body.consentId}/_history`);
    const versions = history.entry.map((entry: any) => [entry.resource.meta.versionId, entry.resource.status]).sort();
    expect(versions).toEqual([
      ['1', 'active'],
      ['2', 'inactive'],
    ]);
    const inactive = await fhirGet(`Consent/${refused.body.consentId}`);
    expect(inactive.provision).toEqual({ type: 'deny' });
    expect(await validationErrors(await fhirGet(`Consent/${agreed.body.consentId}`))).toEqual([]);

    const seen = await eventually(() => (otherView.stateOf(patient)?.decisions[0]?.provision === 'permit' ? otherView.stateOf(patient) : undefined), 'the permit');
    expect(seen.decisions).toHaveLength(1);
  });

  test('a per-study refusal withholds that study only; revoking it shares it again', async () => {
    const value = `IPP-${testUid().slice(-10)}`;
    const patient = { system: DEFAULT_SYSTEM, value };
    const first = studySnapshot({ patientId: value, patientName: 'MARTIN^JEANNE', birthDate: '19750312', accessionNumber: `A${value.slice(-6)}`, studyDate: '20250102', description: 'IRM GENOU' });
    const second = studySnapshot({ patientId: value, patientName: 'MARTIN^JEANNE', birthDate: '19750312', studyDate: '20240102', description: 'RADIO THORAX', modalities: ['CR'] });
    await sendStudy(producer, prefix, first);
    await sendStudy(producer, prefix, second);
    const found = await eventually(async () => {
      const response = await api(desk, 'GET', `/api/patients?identifier=${encodeURIComponent(value)}`);
      return response.body.patients?.[0]?.studies.length === 2 ? response.body.patients : undefined;
    }, 'both studies in the catalogue');
    expect(found).toEqual([expect.objectContaining({ identifier: patient, name: 'MARTIN JEANNE', birthDate: '1975-03-12' })]);

    const refused = await api(desk, 'POST', '/api/decisions', { patient, decision: 'deny', study: first.studyInstanceUid });
    expect(refused.status).toBe(201);
    const consent = await fhirGet(`Consent/${refused.body.consentId}`);
    expect(consent.provision).toEqual({
      type: 'deny',
      data: [{ meaning: 'instance', reference: { type: 'ImagingStudy', identifier: { system: 'urn:dicom:uid', value: `urn:oid:${first.studyInstanceUid}` } } }],
    });
    expect(await validationErrors(consent)).toEqual([]);

    const read = await api(desk, 'GET', `/api/patients/${key(patient)}/decision`);
    expect(read.status).toBe(200);
    const sharing = Object.fromEntries(read.body.studies.map((study: any) => [study.studyInstanceUid, study.sharing]));
    expect(sharing).toEqual({ [first.studyInstanceUid]: 'withhold', [second.studyInstanceUid]: 'share' });
    await eventually(() => (otherView.decide(patient, first) === 'withhold' ? true : undefined), 'the study refusal in another service');
    expect(otherView.decide(patient, second)).toBe('share');

    // A refusal by accession number names the same study: it supersedes the one by UID.
    const byAccession = await api(desk, 'POST', '/api/decisions', { patient, decision: 'deny', accessionNumber: first.study['00080050']!.Value![0] });
    expect(byAccession.body.inactivated).toEqual([refused.body.consentId]);

    const revoked = await api(desk, 'DELETE', `/api/patients/${key(patient)}/decision?accessionNumber=${first.study['00080050']!.Value![0]}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.inactivated).toEqual([byAccession.body.consentId]);
    expect(revoked.body.consent.studies.every((study: any) => study.sharing === 'share')).toBe(true);
    await eventually(() => (otherView.stateOf(patient) === undefined ? true : undefined), 'no decision left in another service');

    const byName = await api(desk, 'GET', '/api/patients?name=martin%20jeanne&birthdate=1975-03-12');
    expect(byName.body.patients.map((p: any) => p.key)).toContain(`${DEFAULT_SYSTEM}|${value}`);
  });

  test.each([
    { first: 'permit', then: 'deny', sharing: 'withhold' },
    { first: 'deny', then: 'permit', sharing: 'share' },
  ])('a decision for all studies ($then) replaces one about a single study ($first): that study follows it too', async ({ first, then, sharing }) => {
    const value = `IPP-${testUid().slice(-10)}`;
    const patient = { system: DEFAULT_SYSTEM, value };
    const study = studySnapshot({ patientId: value });
    const single = await api(desk, 'POST', '/api/decisions', { patient, decision: first, study: study.studyInstanceUid });
    expect(single.status).toBe(201);

    const all = await api(desk, 'POST', '/api/decisions', { patient, decision: then });

    expect(all.status).toBe(201);
    expect(all.body.inactivated).toEqual([single.body.consentId]);
    expect(all.body.consent.decisions.map((decision: any) => [decision.scope, decision.provision])).toEqual([['patient', then]]);
    await eventually(() => (otherView.stateOf(patient)?.decisions.length === 1 && otherView.decide(patient, study) === sharing ? true : undefined), `the study ${sharing === 'share' ? 'shared' : 'withheld'} in another service`);
  });

  test('a patient with more decisions than a page of the server holds (HAPI: 50): every one is in their state, and a new one supersedes the last', async () => {
    const value = `IPP-${testUid().slice(-10)}`;
    const patient = { system: DEFAULT_SYSTEM, value };
    const studies = Array.from({ length: 55 }, () => studySnapshot({ patientId: value }));
    const refusals: string[] = [];
    for (const study of studies) {
      const refused = await api(desk, 'POST', '/api/decisions', { patient, decision: 'deny', study: study.studyInstanceUid });
      expect(refused.status).toBe(201);
      refusals.push(refused.body.consentId);
    }
    await eventually(() => (studies.every((study) => otherView.decide(patient, study) === 'withhold') ? true : undefined), 'all 55 refusals in another service');
    // The last study shared after all: its refusal, beyond the first page, is the one superseded.
    const last = studies.at(-1)!;
    const shared = await api(desk, 'POST', '/api/decisions', { patient, decision: 'permit', study: last.studyInstanceUid });
    expect(shared.body.inactivated).toEqual([refusals.at(-1)]);
    await eventually(() => (otherView.decide(patient, last) === 'share' ? true : undefined), 'the last study shared in another service');
    expect(otherView.decide(patient, studies[0]!)).toBe('withhold');
  }, 180_000);

  test("a decision naming a study the node knows as another patient's is a 422, and nothing is stored; a study not received yet is accepted", async () => {
    const owner = `IPP-${testUid().slice(-10)}`;
    const study = studySnapshot({ patientId: owner, patientName: 'DURAND^PAUL', birthDate: '19600101', studyDate: '20250301' });
    await sendStudy(producer, prefix, study);
    await eventually(async () => ((await api(desk, 'GET', `/api/patients?identifier=${encodeURIComponent(owner)}`)).body.patients?.length === 1 ? true : undefined), 'the study in the catalogue');
    const other = { system: DEFAULT_SYSTEM, value: `IPP-${testUid().slice(-10)}` };

    const wrong = await api(desk, 'POST', '/api/decisions', { patient: other, decision: 'deny', study: study.studyInstanceUid });

    expect(wrong.status).toBe(422);
    expect(wrong.body.resourceType).toBe('OperationOutcome');
    expect(wrong.body.issue[0]).toEqual(expect.objectContaining({ code: 'business-rule', expression: ['study'] }));
    expect(wrong.body.issue[0].diagnostics).toMatch(/another patient/);

    const notYetReceived = await api(desk, 'POST', '/api/decisions', { patient: other, decision: 'deny', study: testUid() });
    expect(notYetReceived.status).toBe(201);
    // The patient's only Consent is the one accepted: the refused decision left nothing.
    const stored = await fhirGet(`Consent?patient.identifier=${key(other)}&_count=10`);
    expect((stored.entry ?? []).map((entry: any) => entry.resource.id)).toEqual([notYetReceived.body.consentId]);
  });

  test('revoking the decision for all studies ends it without a new Consent; revoking again changes nothing', async () => {
    const patient = newPatient();
    const refused = await api(desk, 'POST', '/api/decisions', { patient, decision: 'deny' });
    const revoked = await api(desk, 'DELETE', `/api/patients/${key(patient)}/decision`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ inactivated: [refused.body.consentId], consent: { decisions: [] } });
    expect((await fhirGet(`Consent/${refused.body.consentId}`)).status).toBe('inactive');
    const again = await api(desk, 'DELETE', `/api/patients/${key(patient)}/decision`);
    expect(again.body.inactivated).toEqual([]);
  });

  test('every call is audited: who, what, outcome, and a pseudonym instead of the patient identifier', async () => {
    const patient = newPatient();
    await api(desk, 'POST', '/api/decisions', { patient, decision: 'deny' });
    const audits = desk.logs.map((line) => JSON.parse(line)).filter((line) => line.audit === true);
    const named = desk.pseudonymize(patientKey(patient));
    expect(named).toMatch(/^pt-[0-9a-f]{16}$/);
    expect(audits).toContainEqual(expect.objectContaining({ user: 'desk', action: 'record-deny-all', outcome: 'success', status: 201, patient: named }));
    expect(audits).toContainEqual(expect.objectContaining({ user: null, outcome: 'failure', status: 401 }));
    expect(desk.logs.join('\n')).not.toContain(patient.value);
    // Not the unkeyed digest of earlier versions, which anyone could reverse by trying every identifier.
    const unkeyed = `pt-${createHash('sha256').update(patientKey(patient), 'utf8').digest('hex').slice(0, 16)}`;
    expect(desk.logs.join('\n')).not.toContain(unkeyed);
  });

  /**
   * The FHIR server holds two Patient records with one identifier (made by another writer before the
   * desk's conditional create, or by an EHR import). An outside probe: every decision for that patient
   * was a 502 for ever, on the API and the page, so a patient who refused could not refuse.
   */
  describe('a patient whose identifier two Patient records carry in the FHIR server', () => {
    /** A patient with one study on the node and two Patient records in FHIR. */
    async function ambiguousPatient(): Promise<{ patient: PatientIdentifier; study: StudyCompletedV1Data; records: string[] }> {
      const value = `IPP-${testUid().slice(-10)}`;
      const patient = { system: DEFAULT_SYSTEM, value };
      const study = studySnapshot({ patientId: value, patientName: 'LEROY^ANNE', birthDate: '19820405', studyDate: '20260301', description: 'SCANNER THORAX' });
      await sendStudy(producer, prefix, study);
      await eventually(async () => ((await api(desk, 'GET', `/api/patients/${key(patient)}/decision`)).body?.studies?.length === 1 ? true : undefined), 'the study in the catalogue');
      const records = [await plainPatient(patient), await plainPatient(patient)].sort();
      return { patient, study, records };
    }

    test('a refusal of all studies is recorded (201) and withholds their study, on the desk and in every other service', async () => {
      const { patient, study, records } = await ambiguousPatient();

      const refused = await api(desk, 'POST', '/api/decisions', { patient, decision: 'deny' });

      expect(refused.status).toBe(201);
      expect(refused.body.consent.patientDecision).toMatchObject({ scope: 'patient', provision: 'deny' });
      expect(refused.body.consent.studies).toEqual([expect.objectContaining({ studyInstanceUid: study.studyInstanceUid, sharing: 'withhold' })]);
      // Recorded against one of the two records, found by the identifier as every decision is; no third record.
      const consent = await fhirGet(`Consent/${refused.body.consentId}`);
      expect(records.map((id) => `Patient/${id}`)).toContain(consent.patient.reference);
      expect(await patientRecordIds(patient)).toEqual(records);
      const read = await api(desk, 'GET', `/api/patients/${key(patient)}/decision`);
      expect(read.body.studies).toEqual([expect.objectContaining({ studyInstanceUid: study.studyInstanceUid, sharing: 'withhold' })]);
      await eventually(() => (otherView.decide(patient, study) === 'withhold' ? true : undefined), 'the refusal in another service');
    });

    test('a refusal of one study is recorded (201) and withholds that study', async () => {
      const { patient, study } = await ambiguousPatient();

      const refused = await api(desk, 'POST', '/api/decisions', { patient, decision: 'deny', study: study.studyInstanceUid });

      expect(refused.status).toBe(201);
      expect(refused.body.consent.studies).toEqual([expect.objectContaining({ sharing: 'withhold', decision: expect.objectContaining({ provision: 'deny' }) })]);
      await eventually(() => (otherView.decide(patient, study) === 'withhold' ? true : undefined), 'the study refusal in another service');
    });

    test.each([
      ['an agreement for all studies', false],
      ['an agreement for one study', true],
    ])('%s is a 409 saying the records must be merged first; nothing is recorded and the refusal stays in force', async (_situation, oneStudy) => {
      const { patient, study } = await ambiguousPatient();
      const refused = await api(desk, 'POST', '/api/decisions', { patient, decision: 'deny' });
      expect(refused.status).toBe(201);

      const agreed = await api(desk, 'POST', '/api/decisions', { patient, decision: 'permit', ...(oneStudy ? { study: study.studyInstanceUid } : {}) });

      expect(agreed.status).toBe(409);
      expect(agreed.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'multiple-matches' }] });
      expect(agreed.body.issue[0].diagnostics).toMatch(/several Patient records carry this identifier.*merged/i);
      expect((await consentsOf(patient)).map((consent) => [consent.id, consent.status])).toEqual([[refused.body.consentId, 'active']]);
      expect(otherView.decide(patient, study)).toBe('withhold');
      // The answer and the logs name no patient.
      expect(JSON.stringify(agreed.body)).not.toContain(patient.value);
      expect(desk.logs.join('\n')).not.toContain(patient.value);
    });

    test('revoking the refusal (which would share the studies again) is a 409 too, and the refusal stays in force', async () => {
      const { patient, study } = await ambiguousPatient();
      const refused = await api(desk, 'POST', '/api/decisions', { patient, decision: 'deny' });

      const revoked = await api(desk, 'DELETE', `/api/patients/${key(patient)}/decision`);

      expect(revoked.status).toBe(409);
      expect(revoked.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'multiple-matches' }] });
      expect((await fhirGet(`Consent/${refused.body.consentId}`)).status).toBe('active');
      await eventually(() => (otherView.decide(patient, study) === 'withhold' ? true : undefined), 'the refusal in another service');
    });

    test('the page: "Refuse: share no study" is recorded; "Agree" is a 409 page saying why, in the desk\'s language', async () => {
      const { patient, study } = await ambiguousPatient();
      const session = await pageSignIn(desk, 'desk', 'desk');
      const shown = await (await fetch(`${desk.url}/patient?id=${key(patient)}`, { headers: { cookie: session.cookie } })).text();
      const csrf = /name="_csrf" value="([^"]+)"/.exec(shown)?.[1] ?? '';
      const post = (action: string, language = 'fr') =>
        fetch(`${desk.url}/patient/decision`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session.cookie, 'accept-language': language },
          body: new URLSearchParams({ _csrf: csrf, patient: `${patient.system}|${patient.value}`, action }).toString(),
        });

      const refused = await post('deny');
      expect(refused.status).toBe(303);
      expect(refused.headers.get('location')).toMatch(/done=deny-all$/);
      await eventually(() => (otherView.decide(patient, study) === 'withhold' ? true : undefined), 'the refusal in another service');

      const agreed = await post('permit');
      expect(agreed.status).toBe(409);
      const page = await agreed.text();
      expect(page).toMatch(/<p class="alert" role="alert" id="several-patient-records">Plusieurs dossiers patient portent cet identifiant/);
      // The page shows the decision in force, the refusal.
      expect(page).toContain('Refuse le partage de tous les examens');
      const inEnglish = await (await post('permit', 'en')).text();
      expect(inEnglish).toMatch(/id="several-patient-records">Several patient records carry this identifier/);
      expect((await api(desk, 'GET', `/api/patients/${key(patient)}/decision`)).body.patientDecision).toMatchObject({ provision: 'deny' });
    });
  });

  test('at start, a decision stored in FHIR whose announcement was lost is announced from FHIR', async () => {
    await desk.stop();
    // The crash case: the Consent is in FHIR, the Kafka message never went out.
    const patient = newPatient();
    const store = new ConsentStore(createFhirClient({ baseUrl: process.env.FHIR_BASE_URL!, timeoutMs: 15_000 }));
    const { consentId } = await store.commit({
      patient,
      create: (reference) =>
        buildConsent(
          { patient, provision: 'deny', recordedAt: new Date().toISOString(), recordedBy: 'desk' },
          { policyUri: 'urn:imaging-facade:consent-policy:opt-out', organization: { name: 'Imaging Facade' } },
          reference,
        ),
      inactivate: [],
    });
    desk = await startDesk({ KAFKA_TOPIC_PREFIX: prefix });
    const seen = await eventually(() => otherView.stateOf(patient), 'the healed state');
    expect(seen.decisions.map((decision) => decision.consentId)).toEqual([consentId]);
    expect(desk.logs.some((line) => line.includes('consent state re-announced from FHIR'))).toBe(true);
  });
});
