import { execFile } from 'node:child_process';
import path from 'node:path';
import { generateKeyPair, SignJWT } from 'jose';
import { eventually } from '../../../test/support/wait';
import { newUid } from '../../../test/support/uids';
import { FHIR_BASE_URL, fhirTransaction, PATIENT_ID_SYSTEM, patientEntry, publishConsent, refusal, startGateway, studyEntry, type Gateway } from './test-support/harness';

/**
 * The gateway as a real process in front of the real HAPI FHIR server and Kafka broker, with real
 * tokens from its development issuer.
 */
describe('FHIR gateway', () => {
  let gateway: Gateway;
  const run = newUid().slice(-8);
  const ids = { a: '', b: '', refuser: '', later: '' };
  const studies = { a: [] as string[], b: '', refuser: '', later: '' };
  const uid = { b: newUid(), refuser: newUid(), later: newUid() };
  let practitioner: string;

  beforeAll(async () => {
    const locations = await fhirTransaction([
      patientEntry('urn:uuid:00000000-0000-4000-8000-00000000000a', `A-${run}`),
      patientEntry('urn:uuid:00000000-0000-4000-8000-00000000000b', `B-${run}`),
      patientEntry('urn:uuid:00000000-0000-4000-8000-00000000000c', `C-${run}`),
      patientEntry('urn:uuid:00000000-0000-4000-8000-00000000000d', `D-${run}`),
      studyEntry('urn:uuid:00000000-0000-4000-8000-00000000000a', newUid()),
      studyEntry('urn:uuid:00000000-0000-4000-8000-00000000000a', newUid()),
      studyEntry('urn:uuid:00000000-0000-4000-8000-00000000000a', newUid()),
      studyEntry('urn:uuid:00000000-0000-4000-8000-00000000000b', uid.b),
      studyEntry('urn:uuid:00000000-0000-4000-8000-00000000000c', uid.refuser),
      studyEntry('urn:uuid:00000000-0000-4000-8000-00000000000d', uid.later),
    ]);
    const id = (location: string | undefined) => (location ?? '').split('/')[1] as string;
    [ids.a, ids.b, ids.refuser, ids.later] = locations.slice(0, 4).map(id);
    studies.a = locations.slice(4, 7).map(id);
    [studies.b, studies.refuser, studies.later] = locations.slice(7, 10).map(id);

    gateway = await startGateway();
    practitioner = await gateway.token('user/ImagingStudy.rs user/Patient.rs user/Endpoint.rs', { clientId: `ehr-${run}` });
    // C refused everything; the gateway learns it from the decisions topic.
    await publishConsent(gateway.topicPrefix, { system: PATIENT_ID_SYSTEM, value: `C-${run}` }, [refusal()]);
    await eventually(async () => ((await gateway.get(`ImagingStudy/${studies.refuser}`, practitioner)).status === 404 ? true : undefined), {
      what: 'the refusal to reach the gateway',
    });
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  describe('who may see what', () => {
    test('without a token the answer is a 401 OperationOutcome with a Bearer challenge', async () => {
      const response = await gateway.get('ImagingStudy');
      expect(response.status).toBe(401);
      expect(response.body.resourceType).toBe('OperationOutcome');
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    });

    test('a token the issuer did not sign is a 401', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      const forged = await new SignJWT({ scope: 'system/*.rs' })
        .setProtectedHeader({ alg: 'RS256', kid: 'forged' })
        .setIssuer(`${gateway.origin}/oidc`)
        .setAudience(gateway.base)
        .setExpirationTime('5m')
        .sign(privateKey);
      const response = await gateway.get('ImagingStudy', forged);
      expect(response.status).toBe(401);
      expect(response.body.issue[0].code).toBe('login');
      expect(response.headers.get('www-authenticate')).toContain('invalid_token');
    });

    test('garbage in the Authorization header is a 401', async () => {
      expect((await gateway.get('ImagingStudy', 'not-a-jwt')).status).toBe(401);
    });

    test('scopes that do not cover the type are a 403 OperationOutcome', async () => {
      const token = await gateway.token('user/Observation.rs');
      const response = await gateway.get('ImagingStudy', token);
      expect(response.status).toBe(403);
      expect(response.body.issue[0].code).toBe('forbidden');
      expect(response.headers.get('www-authenticate')).toContain('insufficient_scope');
    });

    test('what does not exist is a 404 OperationOutcome', async () => {
      const response = await gateway.get('ImagingStudy/does-not-exist', practitioner);
      expect(response.status).toBe(404);
      expect(response.body.resourceType).toBe('OperationOutcome');
    });

    test('a practitioner (user scopes) reads and searches any patient\'s studies; ETag passes through', async () => {
      const read = await gateway.get(`ImagingStudy/${studies.b}`, practitioner);
      expect(read.status).toBe(200);
      expect(read.body.id).toBe(studies.b);
      expect(read.headers.get('etag')).toMatch(/^W\/"\d+"$/);
      const search = await gateway.get(`ImagingStudy?patient=Patient/${ids.a}`, practitioner);
      expect(search.status).toBe(200);
      expect(search.body.entry.map((entry: any) => entry.resource.id).sort()).toEqual([...studies.a].sort());
    });

    test('a patient app (patient/*.rs, patient A) sees only A\'s data, wherever it looks', async () => {
      const token = await gateway.token('patient/*.rs', { patient: ids.a });
      const search = await gateway.get('ImagingStudy?status=available&_count=100', token);
      expect(search.status).toBe(200);
      const subjects = new Set(search.body.entry.map((entry: any) => entry.resource.subject.reference));
      expect([...subjects]).toEqual([`Patient/${ids.a}`]);
      expect(search.body.entry).toHaveLength(3);

      expect((await gateway.get(`ImagingStudy/${studies.a[0]}`, token)).status).toBe(200);
      expect((await gateway.get(`ImagingStudy/${studies.b}`, token)).status).toBe(404);
      expect((await gateway.get(`Patient/${ids.b}`, token)).status).toBe(404);
      expect((await gateway.get(`ImagingStudy?patient=Patient/${ids.b}`, token)).status).toBe(403);
      const patients = await gateway.get('Patient', token);
      expect(patients.body.entry.map((entry: any) => entry.resource.id)).toEqual([ids.a]);
      // Another patient's Patient brought in by a reverse include is taken out too.
      const revinclude = await gateway.get(`Patient?_id=${ids.a}&_revinclude=ImagingStudy:subject`, token);
      expect(revinclude.body.entry.every((entry: any) => [ids.a, ...studies.a].includes(entry.resource.id))).toBe(true);
    });

    test('patient scopes without a patient in context grant nothing', async () => {
      const token = await gateway.token('patient/*.rs');
      expect((await gateway.get('ImagingStudy', token)).status).toBe(403);
    });

    test('a back-end service (system/*.rs) searches across patients', async () => {
      const token = await gateway.token('system/*.rs', { clientId: `svc-${run}` });
      const response = await gateway.get(`ImagingStudy?identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${uid.b}`)}`, token);
      expect(response.status).toBe(200);
      expect(response.body.entry.map((entry: any) => entry.resource.id)).toEqual([studies.b]);
    });

    test('writes other than Subscription are a 405 OperationOutcome', async () => {
      const token = await gateway.token('system/*.cruds');
      const create = await gateway.send('POST', 'ImagingStudy', token, { resourceType: 'ImagingStudy', status: 'available', subject: { reference: `Patient/${ids.a}` } });
      expect(create.status).toBe(405);
      expect(create.body.resourceType).toBe('OperationOutcome');
      expect((await gateway.send('PUT', `Patient/${ids.a}`, token, { resourceType: 'Patient', id: ids.a })).status).toBe(405);
      expect((await gateway.send('DELETE', `ImagingStudy/${studies.b}`, token)).status).toBe(405);
      expect((await gateway.send('POST', '', token, { resourceType: 'Bundle', type: 'transaction' })).status).toBe(405);
    });
  });

  describe('search as on the server', () => {
    test('paging and _include work, and every link and fullUrl is on the gateway\'s base', async () => {
      const first = await gateway.get(`ImagingStudy?patient=Patient/${ids.a}&_count=2&_include=ImagingStudy:subject`, practitioner);
      expect(first.status).toBe(200);
      const text = JSON.stringify(first.body);
      expect(text).not.toContain(new URL(FHIR_BASE_URL()).host);
      expect(first.body.entry.filter((entry: any) => entry.search.mode === 'include').map((entry: any) => entry.resource.id)).toEqual([ids.a]);
      for (const entry of first.body.entry) {
        expect(entry.fullUrl.startsWith(`${gateway.base}/`)).toBe(true);
      }
      const next = first.body.link.find((link: any) => link.relation === 'next');
      expect(next.url.startsWith(gateway.base)).toBe(true);

      const second = await gateway.get(next.url, practitioner);
      expect(second.status).toBe(200);
      const matches = [...first.body.entry, ...second.body.entry].filter((entry: any) => entry.search.mode === 'match').map((entry: any) => entry.resource.id);
      expect(matches.sort()).toEqual([...studies.a].sort());
      expect(JSON.stringify(second.body)).not.toContain(new URL(FHIR_BASE_URL()).host);
    });

    test('a page link reaching another token shows it nothing that token may not see', async () => {
      const first = await gateway.get(`ImagingStudy?patient=Patient/${ids.a}&_count=2`, practitioner);
      const next = first.body.link.find((link: any) => link.relation === 'next');
      const otherPatient = await gateway.token('patient/*.rs', { patient: ids.b });
      const page = await gateway.get(next.url, otherPatient);
      expect(page.status).toBe(200);
      expect(page.body.entry ?? []).toEqual([]);
    });

    test('browser apps from another origin may call (CORS preflight)', async () => {
      const response = await fetch(`${gateway.base}/ImagingStudy`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.org', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('access-control-allow-headers')).toContain('Authorization');
    });

    test('the capability statement is public and describes the gateway with SMART security', async () => {
      const response = await gateway.get('metadata');
      expect(response.status).toBe(200);
      expect(response.body.implementation.url).toBe(gateway.base);
      expect(response.body.rest[0].security.service[0].coding[0].code).toBe('SMART-on-FHIR');
      const types = response.body.rest[0].resource.map((resource: any) => resource.type).sort();
      expect(types).toEqual(['AuditEvent', 'DocumentReference', 'Endpoint', 'ImagingStudy', 'Observation', 'Patient', 'Subscription']);
      const smart = await gateway.get('.well-known/smart-configuration');
      expect(smart.body.token_endpoint).toBe(`${gateway.origin}/oidc/token`);
    });
  });

  describe('consent on reads', () => {
    test('a refuser\'s data is never returned, whatever the token', async () => {
      const system = await gateway.token('system/*.rs');
      expect((await gateway.get(`ImagingStudy/${studies.refuser}`, system)).status).toBe(404);
      expect((await gateway.get(`Patient/${ids.refuser}`, system)).status).toBe(404);
      const search = await gateway.get(`ImagingStudy?identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${uid.refuser}`)}`, system);
      expect(search.status).toBe(200);
      expect(search.body.entry ?? []).toEqual([]);
      const own = await gateway.get('ImagingStudy', await gateway.token('patient/*.rs', { patient: ids.refuser }));
      expect(own.body.entry ?? []).toEqual([]);
      // It is still in the FHIR server: the gateway is what hides it.
      expect((await fetch(`${FHIR_BASE_URL()}/ImagingStudy/${studies.refuser}`)).status).toBe(200);
    });

    test('a refusal published while the gateway runs hides the patient\'s studies from then on', async () => {
      expect((await gateway.get(`ImagingStudy/${studies.later}`, practitioner)).status).toBe(200);
      await publishConsent(gateway.topicPrefix, { system: PATIENT_ID_SYSTEM, value: `D-${run}` }, [refusal()]);
      await eventually(async () => ((await gateway.get(`ImagingStudy/${studies.later}`, practitioner)).status === 404 ? true : undefined), {
        timeoutMs: 15_000,
        what: 'the study to be hidden',
      });
      const search = await gateway.get(`ImagingStudy?patient=Patient/${ids.later}`, practitioner);
      expect(search.body.entry ?? []).toEqual([]);
    });

    test('an answer cannot be reshaped or counted around consent: such parameters are refused, in a search and on a page link', async () => {
      const system = await gateway.token('system/*.rs');
      const refused = [
        `ImagingStudy?_id=${studies.refuser}&_include=ImagingStudy:subject&_elements:exclude=Patient.identifier`,
        `ImagingStudy?_id=${studies.refuser}&_elements:exclude=ImagingStudy.subject`,
        `Patient?_id=${ids.refuser}&_summary=TEXT`,
        `Patient?_id=${ids.refuser}&_summary=count`,
        `Patient?_id=${ids.refuser}&_total=accurate`,
        `Patient?_id=${ids.refuser}&_narrative=only`,
        `ImagingStudy?_has:Observation:part-of:subject.name=x`,
        `ImagingStudy?patient._has:AuditEvent:patient:agent-name=ehr-${run}`,
      ];
      for (const query of refused) {
        const answer = await gateway.get(query, system);
        expect([query, answer.status, answer.body.resourceType]).toEqual([query, 400, 'OperationOutcome']);
      }
      // What is let through still hides the refuser, and counts nothing: the refuser may match on another page.
      const narrowed = await gateway.get(`Patient?_id=${ids.refuser},${ids.a}&_elements=name`, system);
      expect(narrowed.body.entry.map((entry: any) => entry.resource.id)).toEqual([ids.a]);
      const firstPage = await gateway.get(`Patient?_id=${ids.a},${ids.refuser}&_count=1&_sort=_id`, system);
      expect(firstPage.body.total).toBeUndefined();
      const next = firstPage.body.link.find((link: any) => link.relation === 'next');
      for (const added of ['&_summary=text', '&_elements:exclude=Patient.identifier', '&_narrative=only']) {
        expect((await gateway.get(`${next.url}${added}`, system)).status).toBe(400);
      }
      const pages = [...(firstPage.body.entry ?? []), ...((await gateway.get(next.url, system)).body.entry ?? [])];
      expect(pages.map((entry: any) => entry.resource.id)).toEqual([ids.a]);
    });

    test("a refuser whose record the mapper labelled withheld is not counted by the server's paging either", async () => {
      const system = await gateway.token('system/*.rs');
      const [labelled] = (await fhirTransaction([patientEntry('urn:uuid:00000000-0000-4000-8000-00000000000f', `L-${run}`)])).map((location) => location.split('/')[1] as string);
      await publishConsent(gateway.topicPrefix, { system: PATIENT_ID_SYSTEM, value: `L-${run}` }, [refusal()]);
      await eventually(async () => ((await gateway.get(`Patient/${labelled}`, system)).status === 404 ? true : undefined), { what: 'the refusal to reach the gateway' });
      const nextOf = (bundle: any) => bundle.link?.find((link: any) => link.relation === 'next');
      // Without the label: the refuser is hidden, but a page of one has a next link, which tells that somebody else matches.
      const unlabelled = await gateway.get(`Patient?_id=${ids.a},${labelled}&_count=1&_sort=_id`, system);
      expect(nextOf(unlabelled.body)).toBeDefined();

      // What the mapper does when it applies a patient-wide refusal (imaging-mapper consent/withheld-label.ts).
      const labelling = await fetch(`${FHIR_BASE_URL()}/Patient/${labelled}/$meta-add`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'meta', valueMeta: { security: [{ system: 'urn:imaging-facade:consent', code: 'withheld' }] } }] }),
      });
      expect(labelling.status).toBe(200);

      for (const query of [`Patient?_id=${ids.a},${labelled}&_count=1&_sort=-_id`, `Patient?_id=${labelled}&_count=1`, `Patient?identifier=${PATIENT_ID_SYSTEM}|L-${run}`]) {
        const answer = await gateway.get(query, system);
        expect({ query, ids: (answer.body.entry ?? []).map((entry: any) => entry.resource.id), next: nextOf(answer.body) }).toEqual({
          query,
          ids: query.includes(ids.a) ? [ids.a] : [],
          next: undefined,
        });
      }
    });

    test("a label left on a record shown again (not yet taken off) is not shown: it would tell that the patient once refused", async () => {
      const system = await gateway.token('system/*.rs');
      const label = { system: 'urn:imaging-facade:consent', code: 'withheld' };
      const response = await fetch(`${FHIR_BASE_URL()}/Patient/${ids.a}/$meta-add`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'meta', valueMeta: { security: [label] } }] }),
      });
      expect(response.status).toBe(200);
      try {
        const read = await gateway.get(`Patient/${ids.a}`, system);
        expect(read.status).toBe(200);
        expect(read.body.meta.security).toBeUndefined();
        const included = await gateway.get(`ImagingStudy?_id=${studies.a[0]}&_include=ImagingStudy:subject`, system);
        const patient = included.body.entry.find((entry: any) => entry.resource.resourceType === 'Patient');
        expect(patient.resource.id).toBe(ids.a);
        expect(patient.resource.meta.security).toBeUndefined();
      } finally {
        await fetch(`${FHIR_BASE_URL()}/Patient/${ids.a}/$meta-delete`, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json' },
          body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'meta', valueMeta: { security: [label] } }] }),
        });
      }
    });

    test('a refuser who agreed to one study has that study shown with their record, and nothing else of theirs', async () => {
      const system = await gateway.token('system/*.rs');
      const agreedUid = newUid();
      const locations = await fhirTransaction([
        patientEntry('urn:uuid:00000000-0000-4000-8000-0000000000e1', `AG-${run}`),
        studyEntry('urn:uuid:00000000-0000-4000-8000-0000000000e1', agreedUid),
        studyEntry('urn:uuid:00000000-0000-4000-8000-0000000000e1', newUid()),
      ]);
      const [patient, agreed, other] = locations.map((location) => location.split('/')[1] as string);
      const agreement = { scope: 'study' as const, study: { studyInstanceUid: agreedUid }, provision: 'permit' as const, consentId: 'c-e', recordedAt: new Date().toISOString(), recordedBy: 'desk' };
      await publishConsent(gateway.topicPrefix, { system: PATIENT_ID_SYSTEM, value: `AG-${run}` }, [refusal(), agreement]);
      await eventually(async () => ((await gateway.get(`ImagingStudy/${other}`, system)).status === 404 ? true : undefined), { what: 'the refusal to reach the gateway' });

      expect((await gateway.get(`ImagingStudy/${agreed}`, system)).status).toBe(200);
      expect((await gateway.get(`Patient/${patient}`, system)).status).toBe(200);
      const withSubject = await gateway.get(`ImagingStudy?_id=${agreed}&_include=ImagingStudy:subject`, system);
      expect(withSubject.body.entry.map((entry: any) => entry.resource.id).sort()).toEqual([agreed, patient].sort());
      // The record is no secret kept behind the study any more: a chain through it answers what the record says.
      const chained = await gateway.get(`ImagingStudy?_id=${agreed}&patient.identifier=${PATIENT_ID_SYSTEM}|AG-${run}`, system);
      expect(chained.body.entry.map((entry: any) => entry.resource.id)).toEqual([agreed]);
      const theirs = await gateway.get(`ImagingStudy?patient=Patient/${patient}`, system);
      expect(theirs.body.entry.map((entry: any) => entry.resource.id)).toEqual([agreed]);

      // The agreement withdrawn (the study refused on its own): the record is withheld again.
      await publishConsent(gateway.topicPrefix, { system: PATIENT_ID_SYSTEM, value: `AG-${run}` }, [refusal(), agreement, { ...agreement, provision: 'deny', consentId: 'c-e2', recordedAt: new Date(Date.now() + 1000).toISOString() }]);
      await eventually(async () => ((await gateway.get(`ImagingStudy/${agreed}`, system)).status === 404 ? true : undefined), { what: 'the withdrawal to reach the gateway' });
      expect((await gateway.get(`Patient/${patient}`, system)).status).toBe(404);
    });

    test('a refusal of one study hides that study only', async () => {
      await publishConsent(gateway.topicPrefix, { system: PATIENT_ID_SYSTEM, value: `B-${run}` }, [
        { scope: 'study', study: { studyInstanceUid: uid.b }, provision: 'deny', consentId: 'c-b', recordedAt: new Date().toISOString(), recordedBy: 'desk' },
      ]);
      await eventually(async () => ((await gateway.get(`ImagingStudy/${studies.b}`, practitioner)).status === 404 ? true : undefined), {
        timeoutMs: 15_000,
        what: 'the study to be hidden',
      });
      expect((await gateway.get(`Patient/${ids.b}`, practitioner)).status).toBe(200);
    });
  });

  describe('consent across a restart', () => {
    test('restarted, the gateway reads on from its file: a refusal read before still hides, one recorded while it was down too', async () => {
      const locations = await fhirTransaction([patientEntry('urn:uuid:00000000-0000-4000-8000-00000000000e', `E-${run}`), studyEntry('urn:uuid:00000000-0000-4000-8000-00000000000e', newUid())]);
      const studyOfE = (locations[1] ?? '').split('/')[1] as string;
      expect((await gateway.get(`ImagingStudy/${studyOfE}`, practitioner)).status).toBe(200);

      await gateway.restart(() => publishConsent(gateway.topicPrefix, { system: PATIENT_ID_SYSTEM, value: `E-${run}` }, [refusal()]));

      expect((await gateway.get(`ImagingStudy/${studies.refuser}`, practitioner)).status).toBe(404);
      expect((await gateway.get(`ImagingStudy/${studyOfE}`, practitioner)).status).toBe(404);
      expect((await gateway.get(`ImagingStudy/${studies.a[0]}`, practitioner)).status).toBe(200);
      // Only the decision recorded while it was down was read: the others came from its file.
      const lines = gateway.process
        .logs()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg: string; readingOnFromSavedPosition?: boolean; recordsRead?: number });
      expect(lines.find((line) => line.msg === 'reading the compacted topic')?.readingOnFromSavedPosition).toBe(true);
      expect(lines.find((line) => line.msg === 'caught up with the compacted topic')?.recordsRead).toBe(1);
    });
  });

  describe('audit', () => {
    test('a read is recorded as a BALP AuditEvent, searchable with the auditor scope only', async () => {
      const clientId = `audited-${run}`;
      const token = await gateway.token('user/ImagingStudy.rs', { clientId, sub: `dr-${run}` });
      const read = await gateway.get(`ImagingStudy/${studies.a[0]}`, token);
      expect(read.status).toBe(200);
      const requestId = read.headers.get('x-request-id');

      const auditor = await gateway.token('user/AuditEvent.rs');
      const event = await eventually(
        async () => {
          const found = await gateway.get(`AuditEvent?entity-name=ImagingStudy/${studies.a[0]}&_count=100`, auditor);
          return (found.body.entry ?? []).map((entry: any) => entry.resource).find((resource: any) => resource.entity.some((entity: any) => entity.what?.identifier?.value === requestId));
        },
        { timeoutMs: 15_000, what: 'the AuditEvent to be searchable' },
      );
      expect(event.type.code).toBe('rest');
      expect(event.subtype[0].code).toBe('read');
      expect(event.action).toBe('R');
      expect(event.outcome).toBe('0');
      expect(event.agent[0].who.identifier.value).toBe(clientId);
      expect(event.agent[2].who.identifier.value).toBe(`dr-${run}`);
      expect(event.entity.some((entity: any) => entity.what?.reference === `Patient/${ids.a}`)).toBe(true);

      // Every scope but the auditor's is refused, a wildcard included.
      expect((await gateway.get('AuditEvent', await gateway.token('system/*.rs'))).status).toBe(403);
      expect((await gateway.get('AuditEvent', await gateway.token('patient/AuditEvent.rs', { patient: ids.a }))).status).toBe(403);
    });

    test('a search records the query and one entity per patient returned; a refusal is recorded as a failure', async () => {
      const clientId = `searcher-${run}`;
      const token = await gateway.token('user/ImagingStudy.rs', { clientId });
      await gateway.get(`ImagingStudy?_id=${studies.a[1]},${studies.later}`, token);
      await gateway.get('Observation', token);
      const auditor = await gateway.token('system/AuditEvent.rs');
      const events = await eventually(
        async () => {
          const found = await gateway.get(`AuditEvent?agent-name=${clientId}&_count=100`, auditor);
          const resources = (found.body.entry ?? []).map((entry: any) => entry.resource);
          return resources.length >= 2 ? resources : undefined;
        },
        { timeoutMs: 15_000, what: 'the AuditEvents of the searches' },
      );
      const search = events.find((event: any) => event.outcome === '0');
      expect(search.subtype[0].code).toBe('search-type');
      const query = search.entity.find((entity: any) => entity.role?.code === '24');
      expect(Buffer.from(query.query, 'base64').toString()).toContain(`ImagingStudy?_id=`);
      // Only A's study came back (D refused): only A is named.
      expect(search.entity.filter((entity: any) => entity.role?.code === '1').map((entity: any) => entity.what.reference)).toEqual([`Patient/${ids.a}`]);
      const refused = events.find((event: any) => event.outcome === '4');
      expect(refused.outcomeDesc).toContain('Observation');
    });

    test('what no route serves is audited too: writes (the audit trail\'s included), a write without a token, a path under a resource, a read refused', async () => {
      const clientId = `writer-${run}`;
      const token = await gateway.token('user/AuditEvent.cruds user/Patient.rs user/Observation.rs', { clientId });
      expect((await gateway.send('DELETE', 'AuditEvent/1', token)).status).toBe(405);
      expect((await gateway.send('PUT', `Patient/${ids.a}`, token, { resourceType: 'Patient', id: ids.a })).status).toBe(405);
      expect((await gateway.send('POST', '', token, { resourceType: 'Bundle', type: 'transaction' })).status).toBe(405);
      expect((await gateway.send('POST', 'AuditEvent', undefined, { resourceType: 'AuditEvent' })).status).toBe(401);
      expect((await gateway.get(`Patient/${ids.a}/_history/1`, token)).status).toBe(404);
      const other = await gateway.token('user/Observation.rs', { clientId });
      expect((await gateway.get(`Patient/${ids.b}`, other)).status).toBe(403);
      const auditor = await gateway.token('system/AuditEvent.rs');
      const events = await eventually(
        async () => {
          const found = await gateway.get(`AuditEvent?agent-name=${clientId}&_count=100`, auditor);
          const resources = (found.body.entry ?? []).map((entry: any) => entry.resource);
          return resources.length >= 5 ? resources : undefined;
        },
        { timeoutMs: 15_000, what: 'the AuditEvents of the attempts' },
      );
      const named = (event: any) => event.entity.find((entity: any) => entity.role?.code === '4')?.name;
      expect(events.every((event: any) => event.outcome === '4')).toBe(true);
      expect(events.map((event: any) => `${event.action} ${named(event) ?? ''}`).sort()).toEqual(
        ['C ', 'D AuditEvent/1', 'R Patient/' + ids.a, 'R Patient/' + ids.b, 'U Patient/' + ids.a].sort(),
      );
    });

    test('the gateway\'s logs carry no patient data', () => {
      const logs = gateway.process.logs();
      for (const value of [`A-${run}`, `B-${run}`, `C-${run}`, `D-${run}`]) {
        expect(logs).not.toContain(value);
      }
    });
  });

  test('`npm run token` prints a token and nothing else', async () => {
    const cli = path.join(__dirname, '..', 'dist', 'token-cli.js');
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [cli, '--scope', 'patient/ImagingStudy.rs', '--patient', ids.a], { env: { ...process.env, FACADE_GATEWAY_URL: gateway.origin } }, (error, out) =>
        error ? reject(error) : resolve(out),
      ),
    );
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const response = await gateway.get('ImagingStudy', stdout.trim());
    expect(response.status).toBe(200);
    expect(response.body.entry.every((entry: any) => entry.resource.subject.reference === `Patient/${ids.a}`)).toBe(true);
  });
});
