import { eventually } from '../../../test/support/wait';
import { newUid } from '../../../test/support/uids';
import { FHIR_BASE_URL, fhirTransaction, PATIENT_ID_SYSTEM, publishConsent, refusal, startGateway, studyEntry, type Gateway } from './test-support/harness';

/**
 * Chained searches through the gateway against the real HAPI: a chain is matched by the server on
 * every record, so what a chain may ask is what the token may know of every patient (a security
 * review's probes, 2026-12-07: both questions below answered before the fix).
 */
const patient = (fullUrl: string, value: string, birthDate: string) => ({
  fullUrl,
  resource: { resourceType: 'Patient', identifier: [{ system: PATIENT_ID_SYSTEM, value }], name: [{ family: 'Chain', given: [value] }], birthDate },
  request: { method: 'POST', url: 'Patient' },
});
const observation = (subject: string) => ({
  resource: { resourceType: 'Observation', status: 'final', code: { text: 'chained-search' }, subject: { reference: subject } },
  request: { method: 'POST', url: 'Observation' },
});
const ids = (body: { entry?: Array<{ resource?: { resourceType?: string; id?: string } }> }) => (body.entry ?? []).map((entry) => `${entry.resource?.resourceType}/${entry.resource?.id}`);

describe('chained searches through the gateway', () => {
  let gateway: Gateway;
  const run = newUid().slice(-8);
  let a = '';
  let b = '';
  let refuser = '';
  let studyOfB = '';

  beforeAll(async () => {
    const locations = await fhirTransaction([
      patient('urn:uuid:00000000-0000-4000-8000-0000000000a1', `CA-${run}`, '1980-01-01'),
      patient('urn:uuid:00000000-0000-4000-8000-0000000000b1', `CB-${run}`, '1971-05-17'),
      patient('urn:uuid:00000000-0000-4000-8000-0000000000c1', `CR-${run}`, '1965-03-09'),
      studyEntry('urn:uuid:00000000-0000-4000-8000-0000000000b1', newUid()),
      observation('urn:uuid:00000000-0000-4000-8000-0000000000a1'),
      observation('urn:uuid:00000000-0000-4000-8000-0000000000c1'),
    ]);
    [a, b, refuser, studyOfB] = locations.slice(0, 4).map((location) => location.split('/')[1] as string) as [string, string, string, string];
    gateway = await startGateway();
    await publishConsent(gateway.topicPrefix, { system: PATIENT_ID_SYSTEM, value: `CR-${run}` }, [refusal()]);
    // The mapper labels a refuser's record; here, as it would.
    const labelled = await fetch(`${FHIR_BASE_URL()}/Patient/${refuser}/$meta-add`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'meta', valueMeta: { security: [{ system: 'urn:imaging-facade:consent', code: 'withheld' }] } }] }),
    });
    expect(labelled.status).toBe(200);
    const all = await gateway.token('user/*.rs');
    await eventually(async () => ((await gateway.get(`Patient/${refuser}`, all)).status === 404 ? true : undefined), { what: 'the refusal applied' });
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
  });

  test('a practitioner finds a patient\'s studies by the patient\'s identifier', async () => {
    const practitioner = await gateway.token('user/ImagingStudy.rs user/Patient.rs');
    const found = await gateway.get(`ImagingStudy?patient.identifier=${encodeURIComponent(`${PATIENT_ID_SYSTEM}|CB-${run}`)}`, practitioner);
    expect(found.status).toBe(200);
    expect(ids(found.body)).toEqual([`ImagingStudy/${studyOfB}`]);
  });

  test('a token that may read every study but only its own patient\'s record cannot learn another patient\'s demographics through a chain (403)', async () => {
    const mixed = await gateway.token('user/ImagingStudy.rs patient/Patient.rs', { patient: a });
    expect((await gateway.get(`Patient/${b}`, mixed)).status).toBe(404);
    for (const query of [`ImagingStudy?subject:Patient.name=CB-${run}`, `ImagingStudy?patient.birthdate=1971-05-17&_id=${studyOfB}`, `ImagingStudy?patient.identifier=${encodeURIComponent(`${PATIENT_ID_SYSTEM}|CB-${run}`)}`]) {
      const answer = await gateway.get(query, mixed);
      expect({ query, status: answer.status }).toEqual({ query, status: 403 });
    }
  });

  test('a refuser\'s record cannot be read one guess at a time through a chain on its fields and a page\'s next link (400)', async () => {
    const reader = await gateway.token('user/Observation.rs user/Patient.rs');
    for (const birthDate of ['ne1965-03-09', 'ne1965-03-10', 'ge1965-01-01']) {
      const answer = await gateway.get(`Observation?subject=Patient/${a},Patient/${refuser}&subject:Patient.birthdate=${birthDate}&_count=1`, reader);
      expect({ birthDate, status: answer.status }).toEqual({ birthDate, status: 400 });
      expect(answer.body.issue[0].diagnostics).toContain('identifier');
    }
  });
});
