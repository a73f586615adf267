import { rmSync } from 'node:fs';
import path from 'node:path';
import type { DocumentReference, ImagingStudy, Observation, Resource } from '@medplum/fhirtypes';
import { runDcmtk, storescu } from '../support/dcmtk';
import { FHIR_BASE_URL, search, studiesByUid } from '../support/fhir';
import { metric, startPipeline, type Pipeline } from '../support/pipeline';
import { SAMPLES } from '../support/sample-files';
import type { RunningService } from '../support/service-process';
import { makeStudy, type GeneratedStudy } from '../support/study-factory';
import { eventually } from '../support/wait';

/**
 * Issue 4, end to end: decisions recorded at the consent desk (services/consent, its JSON API)
 * decide what DICOM studies sent with DCMTK's storescu become in the real HAPI FHIR server, through
 * the real Kafka broker, with our services as processes.
 */

/** The patient ID system of a PatientID without issuer: the default the desk and the mapper share. */
const SYSTEM = 'https://imagingfacade.org/fhir/sid/patient-id';
const DESK_AUTH = `Basic ${Buffer.from('desk:desk').toString('base64')}`;
const WITHHELD = 'study withheld from the index (consent)';
const MAPPED = 'study mapped to FHIR';
/** libs/consent WITHHELD_LABEL, as a search parameter value. */
const WITHHELD_LABEL = encodeURIComponent('urn:imaging-facade:consent|withheld');

interface LogLine {
  msg: string;
  time: string;
  studyInstanceUid?: string;
  outcome?: string;
  trigger?: string;
  topic?: string;
  readingOnFromSavedPosition?: boolean;
  scope?: string;
  patients?: number;
}

function logLines(service: RunningService): LogLine[] {
  return service
    .logs()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** The mapper's log lines about one study. */
const linesAbout = (pipeline: Pipeline, study: GeneratedStudy) =>
  logLines(pipeline.mapper).filter((line) => line.studyInstanceUid === study.studyInstanceUid);

/** Waits until the mapper has handled the study's event (published it, or withheld it), and says which. */
async function handledByMapper(pipeline: Pipeline, study: GeneratedStudy): Promise<'published' | 'withheld'> {
  return eventually(
    async () => {
      const event = linesAbout(pipeline, study).find((line) => line.msg === MAPPED || (line.msg === WITHHELD && line.trigger === undefined));
      return event && (event.msg === MAPPED ? 'published' : 'withheld');
    },
    { timeoutMs: 60_000, what: `the mapper to handle ${study.studyInstanceUid}` },
  );
}

async function send(pipeline: Pipeline, study: GeneratedStudy, files = study.files): Promise<void> {
  const result = await storescu(pipeline.dicomPort, files);
  expect({ code: result.code, errors: result.stderr.match(/^E: .*$/gm) }).toEqual({ code: 0, errors: null });
}

/** Records a decision at the desk (POST /api/decisions) and returns once it is announced on Kafka (201). */
async function decide(
  pipeline: Pipeline,
  patientId: string,
  decision: 'permit' | 'deny',
  scope: { study?: string; accessionNumber?: string } = {},
): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${pipeline.consentPort}/api/decisions`, {
    method: 'POST',
    headers: { authorization: DESK_AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ patient: { system: SYSTEM, value: patientId }, decision, ...scope }),
  });
  expect({ status: response.status, body: response.status === 201 ? 'ok' : await response.text() }).toEqual({ status: 201, body: 'ok' });
}

async function publishedStudy(study: GeneratedStudy, ready: (found: ImagingStudy) => boolean = () => true): Promise<ImagingStudy> {
  return eventually(
    async () => {
      const found = await studiesByUid(study.studyInstanceUid);
      expect(found.length).toBeLessThanOrEqual(1);
      return found.length === 1 && ready(found[0]!) ? found[0] : undefined;
    },
    { timeoutMs: 60_000, what: `the ImagingStudy of ${study.studyInstanceUid}` },
  );
}

/** Polls until no search by the study's identifier returns it; resolves with how long that took. */
async function goneWithin(study: GeneratedStudy, since: number, timeoutMs = 30_000): Promise<number> {
  await eventually(async () => ((await studiesByUid(study.studyInstanceUid)).length === 0 ? true : undefined), {
    timeoutMs,
    intervalMs: 100,
    what: `${study.studyInstanceUid} to leave the index`,
  });
  return Date.now() - since;
}

/** Removes the study and its manifest's DocumentReference from HAPI directly: as in an index restored from an older backup. */
async function removeFromIndex(study: GeneratedStudy): Promise<void> {
  const entries = (await studiesByUid(study.studyInstanceUid)).flatMap((found) => [
    { request: { method: 'DELETE', url: `DocumentReference?related=ImagingStudy/${found.id}` } },
    { request: { method: 'DELETE', url: `ImagingStudy/${found.id}` } },
  ]);
  const response = await fetch(FHIR_BASE_URL(), {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: entries }),
  });
  expect(response.status).toBe(200);
}

/** A search as an app would run it; `cached` lets HAPI answer from its search cache. */
async function searchRefs(query: string, cached = false): Promise<string[]> {
  const response = await fetch(`${FHIR_BASE_URL()}/${query}`, {
    headers: { accept: 'application/fhir+json', ...(cached ? {} : { 'cache-control': 'no-cache' }) },
  });
  expect(response.status).toBe(200);
  const bundle = (await response.json()) as { entry?: Array<{ resource?: Resource }> };
  return (bundle.entry ?? []).map((entry) => `${entry.resource?.resourceType}/${entry.resource?.id}`);
}

async function create<T extends Resource>(resource: T): Promise<string> {
  const response = await fetch(`${FHIR_BASE_URL()}/${resource.resourceType}`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: JSON.stringify(resource),
  });
  expect(response.status).toBe(201);
  return `${resource.resourceType}/${((await response.json()) as Resource).id}`;
}

const newPatientId = (label: string) => `CONSENT-${label}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const oneInstanceStudy = (patientId: string, instances = 1) => makeStudy([{ source: SAMPLES.ctExplicitLittle, instances }], patientId);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('under the opt-out policy (the default)', () => {
  let pipeline: Pipeline;

  beforeAll(async () => {
    pipeline = await startPipeline({}, { consent: true });
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  test('a patient who refused before the exam: the study is handled by the mapper and never reaches the index', async () => {
    const patientId = newPatientId('BEFORE');
    await decide(pipeline, patientId, 'deny');
    const withheldBefore = await metric(pipeline.mapperPort, 'facade_mapper_consent_outcomes_total', { trigger: 'study', outcome: 'withheld' });
    const study = await oneInstanceStudy(patientId, 2);

    await send(pipeline, study);

    // The negative is proven once the mapper has processed the study's event, not by waiting.
    expect(await handledByMapper(pipeline, study)).toBe('withheld');
    expect(await metric(pipeline.mapperPort, 'facade_mapper_consent_outcomes_total', { trigger: 'study', outcome: 'withheld' })).toBe(withheldBefore + 1);
    expect(await studiesByUid(study.studyInstanceUid)).toEqual([]);
    expect(await search(`ImagingStudy?patient.identifier=${encodeURIComponent(`${SYSTEM}|${patientId}`)}`)).toEqual([]);
  });

  test('a refusal after publication removes the study and what references it from every search within seconds; agreeing again brings it back', async () => {
    const patientId = newPatientId('AFTER');
    const study = await oneInstanceStudy(patientId, 2);
    await send(pipeline, study);
    const published = await publishedStudy(study);
    // What the pipeline publishes beside the ImagingStudy points at it (DocumentReference, dose Observation).
    const derived = [
      await create<DocumentReference>({
        resourceType: 'DocumentReference',
        status: 'current',
        content: [{ attachment: { contentType: 'application/dicom', url: 'https://pacs.example/wado' } }],
        context: { related: [{ reference: `ImagingStudy/${published.id}` }] },
      }),
      await create<Observation>({ resourceType: 'Observation', status: 'final', code: { text: 'CTDIvol' }, partOf: [{ reference: `ImagingStudy/${published.id}` }] }),
    ];
    // Searches not run yet (HAPI keeps even an empty answer in its search cache for a minute).
    const queries = [
      `ImagingStudy?identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${study.studyInstanceUid}`)}`,
      `ImagingStudy?patient.identifier=${encodeURIComponent(`${SYSTEM}|${patientId}`)}`,
      `ImagingStudy?subject=${published.subject.reference}`,
      `ImagingStudy?_id=${published.id}&_revinclude=*`,
      `DocumentReference?related=ImagingStudy/${published.id}`,
      `Observation?part-of=ImagingStudy/${published.id}`,
    ];
    // An app that searched a moment ago: HAPI may answer the same search from its cache.
    for (const query of queries) expect({ query, found: (await searchRefs(query, true)).length > 0 }).toEqual({ query, found: true });
    // What references the study now: ours above, and what the pipeline published itself (the manifest's DocumentReference…).
    const referencing = [
      ...(await searchRefs(`DocumentReference?related=ImagingStudy/${published.id}`)),
      ...(await searchRefs(`Observation?part-of=ImagingStudy/${published.id}`)),
    ];
    expect(referencing).toEqual(expect.arrayContaining(derived));
    const publishedByPipeline = referencing.filter((reference) => !derived.includes(reference));

    const asked = Date.now();
    await decide(pipeline, patientId, 'deny');
    const recorded = Date.now();
    const removalMs = await goneWithin(study, recorded);
    console.log(
      `refusal → study gone from the index: ${removalMs} ms after the desk's 201 (${Date.now() - asked} ms after the request); ` +
        `with it: ${referencing.join(', ')} (${publishedByPipeline.length} published by the pipeline)`,
    );
    expect(removalMs).toBeLessThan(5_000);

    for (const query of queries) {
      expect({ query, found: await searchRefs(query) }).toEqual({ query, found: [] });
      expect({ query, cached: await searchRefs(query, true) }).toEqual({ query, cached: [] });
    }
    for (const reference of [`ImagingStudy/${published.id}`, ...referencing]) {
      expect({ reference, status: (await fetch(`${FHIR_BASE_URL()}/${reference}`)).status }).toEqual({ reference, status: 410 });
    }
    // The patient's record stays (Consents reference it), labelled withheld: a search that excludes
    // the label (the gateway's, for every Patient search) neither finds nor counts it.
    const patientQuery = `Patient?identifier=${encodeURIComponent(`${SYSTEM}|${patientId}`)}`;
    await eventually(async () => ((await searchRefs(`${patientQuery}&_security=${WITHHELD_LABEL}`)).length === 1 ? true : undefined), {
      what: "the refuser's record to be labelled",
    });
    expect(await searchRefs(`${patientQuery}&_security:not=${WITHHELD_LABEL}`, true)).toEqual([]);

    const permitted = Date.now();
    await decide(pipeline, patientId, 'permit');
    const back = await publishedStudy(study);
    console.log(`permit → study back in the index: ${Date.now() - permitted} ms`);
    expect(back.id).not.toBe(published.id);
    expect(back.numberOfInstances).toBe(2);
    expect(back.series?.[0]?.instance?.map((instance) => instance.uid).sort()).toEqual([...study.series[0]!.sopInstanceUids].sort());
    // Through the normal pipeline: what it derives from the study is published again with it.
    const referencingAgain = [
      ...(await searchRefs(`DocumentReference?related=ImagingStudy/${back.id}`)),
      ...(await searchRefs(`Observation?part-of=ImagingStudy/${back.id}`)),
    ];
    expect(referencingAgain.map((reference) => reference.split('/')[0])).toEqual(publishedByPipeline.map((reference) => reference.split('/')[0]));
    // The label is off again: the record is found by a search that excludes it.
    await eventually(async () => ((await searchRefs(`${patientQuery}&_security:not=${WITHHELD_LABEL}&_count=5`)).length === 1 ? true : undefined), {
      what: "the label to be taken off the patient's record",
    });
    expect(await searchRefs(`${patientQuery}&_security:not=${WITHHELD_LABEL}&_count=6`, true)).toEqual([published.subject?.reference]);
  });

  test("a refusal recorded under a regional identifier, which the master patient index added to the patient's record, withdraws the studies filed under the hospital's", async () => {
    const patientId = newPatientId('LINK');
    const regional = { system: 'urn:oid:1.2.250.1.213.1.4.10', value: `R${Date.now().toString(36)}` };
    const study = await oneInstanceStudy(patientId);
    await send(pipeline, study);
    const published = await publishedStudy(study);
    // The master patient index links the regional identifier to the record the mapper created.
    const recordUrl = `${FHIR_BASE_URL()}/${published.subject?.reference}`;
    const record = (await (await fetch(recordUrl, { headers: { accept: 'application/fhir+json' } })).json()) as { identifier: unknown[] };
    const linked = await fetch(recordUrl, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
      body: JSON.stringify({ ...record, identifier: [...record.identifier, regional] }),
    });
    expect(linked.status).toBe(200);

    const refused = await fetch(`http://127.0.0.1:${pipeline.consentPort}/api/decisions`, {
      method: 'POST',
      headers: { authorization: DESK_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ patient: regional, decision: 'deny' }),
    });
    expect(refused.status).toBe(201);

    await goneWithin(study, Date.now());
    const regionalQuery = `Patient?identifier=${encodeURIComponent(`${regional.system}|${regional.value}`)}`;
    await eventually(async () => ((await searchRefs(`${regionalQuery}&_security=${WITHHELD_LABEL}`)).length === 1 ? true : undefined), {
      what: "the linked record to be labelled",
    });
  });

  test('a refusal of one study (by StudyInstanceUID, or by accession number) leaves the patient\'s other studies shared', async () => {
    const patientId = newPatientId('ONE');
    const [byUid, byAccession, kept] = [await oneInstanceStudy(patientId), await oneInstanceStudy(patientId), await oneInstanceStudy(patientId)];
    const accessionNumber = `A${Date.now().toString().slice(-9)}`;
    for (const file of byAccession!.files) {
      expect((await runDcmtk('dcmodify', ['-nb', '-i', `(0008,0050)=${accessionNumber}`, file])).code).toBe(0);
    }
    await Promise.all([byUid, byAccession, kept].map((study) => send(pipeline, study!)));
    const keptBefore = await publishedStudy(kept!);
    await Promise.all([publishedStudy(byUid!), publishedStudy(byAccession!)]);

    await decide(pipeline, patientId, 'deny', { study: byUid!.studyInstanceUid });
    await decide(pipeline, patientId, 'deny', { accessionNumber });
    await goneWithin(byUid!, Date.now());
    await goneWithin(byAccession!, Date.now());

    const keptAfter = await studiesByUid(kept!.studyInstanceUid);
    expect(keptAfter.map((study) => [study.id, study.meta?.versionId])).toEqual([[keptBefore.id, keptBefore.meta?.versionId]]);
  });

  test('a refusal of everything but one study agreed at the desk: that study is published again with its record shown, the other stays withdrawn', async () => {
    const patientId = newPatientId('BUTONE');
    const [agreed, other] = [await oneInstanceStudy(patientId), await oneInstanceStudy(patientId)];
    await Promise.all([send(pipeline, agreed!), send(pipeline, other!)]);
    await Promise.all([publishedStudy(agreed!), publishedStudy(other!)]);
    const patientQuery = `Patient?identifier=${encodeURIComponent(`${SYSTEM}|${patientId}`)}`;

    await decide(pipeline, patientId, 'deny');
    await goneWithin(agreed!, Date.now());
    await goneWithin(other!, Date.now());
    await eventually(async () => ((await searchRefs(`${patientQuery}&_security=${WITHHELD_LABEL}`)).length === 1 ? true : undefined), {
      what: "the refuser's record to be labelled",
    });

    await decide(pipeline, patientId, 'permit', { study: agreed!.studyInstanceUid });
    const back = await publishedStudy(agreed!);
    // The record is shown with the study it belongs to: the label comes off.
    await eventually(async () => ((await searchRefs(`${patientQuery}&_security:not=${WITHHELD_LABEL}&_count=7`)).length === 1 ? true : undefined), {
      what: "the label to be taken off the record of the agreed study",
    });
    expect(await searchRefs(`${patientQuery}&_security:not=${WITHHELD_LABEL}&_count=8`)).toEqual([back.subject?.reference]);
    expect(await studiesByUid(other!.studyInstanceUid)).toEqual([]);

    // The agreement withdrawn: the study goes again, and the record is withheld again.
    await decide(pipeline, patientId, 'deny', { study: agreed!.studyInstanceUid });
    await goneWithin(agreed!, Date.now());
    await eventually(async () => ((await searchRefs(`${patientQuery}&_security=${WITHHELD_LABEL}&_count=9`)).length === 1 ? true : undefined), {
      what: 'the record to be labelled again',
    });
  });

  test('refusals recorded while the studies are being sent and published all end honoured', async () => {
    // Each case: one patient, one study, the refusal fired at another moment: during the C-STORE;
    // right when the ingest has published the snapshot at the end of the quiet period (the mapper
    // is then reading and writing the study); and around the end of the quiet period, 1500 ms
    // after the last instance. The delays are the test's purpose, not waits for a condition.
    const snapshotPublished = (study: GeneratedStudy) =>
      eventually(
        async () =>
          logLines(pipeline.ingest).some((line) => line.msg === 'study completed' && line.studyInstanceUid === study.studyInstanceUid) ? true : undefined,
        { intervalMs: 10, what: `the ingest to publish ${study.studyInstanceUid}` },
      );
    const moments: Array<{ label: string; before: (study: GeneratedStudy) => Promise<unknown> }> = [
      ...[0, 150, 300].map((ms) => ({ label: `snapshot published +${ms} ms`, before: async (study: GeneratedStudy) => snapshotPublished(study).then(() => sleep(ms)) })),
      ...[1300, 1700].map((ms) => ({ label: `last instance +${ms} ms`, before: () => sleep(ms) })),
    ];
    const cases = await Promise.all(
      [{ label: 'during the C-STORE', before: undefined }, ...moments].map(async (moment) => ({ ...moment, study: await oneInstanceStudy(newPatientId('CROSS'), 4) })),
    );

    // One case at a time, so that the mapper is free to take each study as soon as it is published.
    const paths: Array<'published' | 'withheld'> = [];
    for (const { before, study } of cases) {
      if (before) {
        await send(pipeline, study);
        await before(study);
        await decide(pipeline, study.patientId, 'deny');
      } else {
        await Promise.all([send(pipeline, study), decide(pipeline, study.patientId, 'deny')]);
      }
      paths.push(await handledByMapper(pipeline, study));
    }

    // Settled: every study event handled (above), then none of the studies in the index, and still none a moment later.
    await Promise.all(cases.map(({ study }) => goneWithin(study, Date.now())));
    await sleep(2_000);
    for (const { label, study } of cases) {
      expect({ label, found: await studiesByUid(study.studyInstanceUid) }).toEqual({ label, found: [] });
    }
    console.log(
      `crossing refusals: ${cases.map(({ label }, index) => `${label}: ${paths[index] === 'published' ? 'published, then withdrawn' : 'withheld on arrival'}`).join('; ')}`,
    );
  });

  test('restarting the consent desk and the mapper loses no decision, including one recorded while the mapper was down', async () => {
    const [shared, refusedEarlier] = [newPatientId('RESTART-A'), newPatientId('RESTART-B')];
    const study = await oneInstanceStudy(shared);
    await send(pipeline, study);
    await publishedStudy(study);
    await decide(pipeline, refusedEarlier, 'deny');

    expect(await pipeline.stopService('imaging-mapper')).toBe(0);
    await decide(pipeline, shared, 'deny');
    expect(await studiesByUid(study.studyInstanceUid)).toHaveLength(1); // nobody to withdraw it yet
    expect(await pipeline.stopService('consent')).toBe(0);

    await pipeline.startService('consent');
    const restarted = Date.now();
    await pipeline.startService('imaging-mapper');
    // The mapper's sweep after its start applies the refusal it missed.
    const removalMs = await goneWithin(study, restarted);
    console.log(`refusal recorded while the mapper was down → study gone ${removalMs} ms after the restart began`);
    const sweep = await eventually(async () => logLines(pipeline.mapper).find((line) => line.msg === 'consent sweep done'), { what: 'the sweep' });
    // Only the patient whose decision changed while the mapper was down, not every patient of the topic (imaging-mapper README).
    expect({ scope: sweep.scope, patients: sweep.patients }).toEqual({ scope: 'changed decisions', patients: 1 });
    // Both read the study and the decisions topics on from their files, not again from the beginning (libs/consent README).
    for (const service of [pipeline.mapper, pipeline.consent]) {
      for (const topic of ['imaging.study-completed.v1', 'consent.patient-decisions.v1']) {
        const topicStart = logLines(service).find((line) => line.msg === 'reading the compacted topic' && String(line.topic).endsWith(topic));
        expect({ service: service.name, topic, readingOnFromSavedPosition: topicStart?.readingOnFromSavedPosition }).toEqual({ service: service.name, topic, readingOnFromSavedPosition: true });
      }
    }

    for (const patientId of [shared, refusedEarlier]) {
      const response = await fetch(`http://127.0.0.1:${pipeline.consentPort}/api/patients/${encodeURIComponent(`${SYSTEM}|${patientId}`)}/decision`, {
        headers: { authorization: DESK_AUTH },
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { patientDecision?: { provision: string } }).patientDecision?.provision).toBe('deny');
    }
    // The restarted mapper rebuilt its view: a new study of the patient who refused earlier stays out.
    const later = await oneInstanceStudy(refusedEarlier);
    await send(pipeline, later);
    expect(await handledByMapper(pipeline, later)).toBe('withheld');
    expect(await studiesByUid(later.studyInstanceUid)).toEqual([]);
  });

  test('kill -9 of the mapper while it withdraws a refused patient\'s studies: the next start withdraws the rest', async () => {
    const patientId = newPatientId('KILLED');
    const studies = await Promise.all(Array.from({ length: 12 }, () => oneInstanceStudy(patientId)));
    await Promise.all(studies.map((study) => send(pipeline, study)));
    await Promise.all(studies.map((study) => publishedStudy(study)));
    const inIndex = async () => (await search<ImagingStudy>(`ImagingStudy?patient.identifier=${encodeURIComponent(`${SYSTEM}|${patientId}`)}&_count=50`)).length;
    expect(await inIndex()).toBe(12);

    await decide(pipeline, patientId, 'deny');
    // Killed as soon as the first study has left the index: the others are still being withdrawn.
    await eventually(async () => ((await inIndex()) < 12 ? true : undefined), { intervalMs: 20, timeoutMs: 30_000, what: 'the first withdrawal' });
    process.kill(pipeline.mapper.pid, 'SIGKILL');
    const left = await inIndex();
    console.log(`kill -9 of the mapper with ${left} of 12 refused studies still in the index`);
    expect(left).toBeGreaterThan(0);

    const restarted = Date.now();
    await pipeline.startService('imaging-mapper');
    // Within seconds: the sweep does not wait for the study consumer to rejoin its group, which after a kill waits for the dead member's 30 s session.
    await eventually(async () => ((await inIndex()) === 0 ? true : undefined), { intervalMs: 100, timeoutMs: 20_000, what: 'the other withdrawals' });
    console.log(`after the restart, the last refused study left the index ${Date.now() - restarted} ms after the restart began`);
    const sweep = await eventually(async () => logLines(pipeline.mapper).find((line) => line.msg === 'consent sweep done'), { what: 'the sweep' });
    expect(sweep.scope).toBe('changed decisions');
    expect(sweep.patients).toBeGreaterThanOrEqual(1);
  });

  test('after the index is restored from a backup, deleting the mapper\'s record of applied decisions makes its next start apply every decision again, a revoked refusal included', async () => {
    const patientId = newPatientId('RESTORED');
    const study = await oneInstanceStudy(patientId);
    await send(pipeline, study);
    await publishedStudy(study);
    await decide(pipeline, patientId, 'deny');
    await goneWithin(study, Date.now());
    const revoked = await fetch(`http://127.0.0.1:${pipeline.consentPort}/api/patients/${encodeURIComponent(`${SYSTEM}|${patientId}`)}/decision`, {
      method: 'DELETE',
      headers: { authorization: DESK_AUTH },
    });
    expect(revoked.status).toBe(200);
    await publishedStudy(study);

    // The index goes back to a backup taken while the refusal stood: the study is not in it.
    expect(await pipeline.stopService('imaging-mapper')).toBe(0);
    await removeFromIndex(study);
    expect(await studiesByUid(study.studyInstanceUid)).toEqual([]);
    // What the operator then does (imaging-mapper README, Consent).
    rmSync(path.join(pipeline.dataDir, 'imaging-mapper', 'consent-gate'), { recursive: true });

    await pipeline.startService('imaging-mapper');
    // The patient has no decision left: only a reading of the whole decisions topic names them.
    await publishedStudy(study);
    const sweep = await eventually(async () => logLines(pipeline.mapper).find((line) => line.msg === 'consent sweep done'), { what: 'the sweep' });
    expect(sweep.scope).toBe('every patient');
    const decisionsRead = logLines(pipeline.mapper).find((line) => line.msg === 'reading the compacted topic' && String(line.topic).endsWith('consent.patient-decisions.v1'));
    expect(decisionsRead?.readingOnFromSavedPosition).toBe(false);
  });
});

describe('under the opt-in policy', () => {
  let pipeline: Pipeline;

  beforeAll(async () => {
    pipeline = await startPipeline({ FACADE_CONSENT_POLICY: 'opt-in' }, { consent: true });
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  test('a study of a patient without a decision is held, and appears once the patient agrees', async () => {
    const patientId = newPatientId('OPTIN');
    const study = await oneInstanceStudy(patientId, 2);
    await send(pipeline, study);
    expect(await handledByMapper(pipeline, study)).toBe('withheld');
    expect(await studiesByUid(study.studyInstanceUid)).toEqual([]);

    const agreed = Date.now();
    await decide(pipeline, patientId, 'permit');
    const published = await publishedStudy(study);
    console.log(`opt-in: consent recorded → held study published in ${Date.now() - agreed} ms`);
    expect(published.numberOfInstances).toBe(2);
  });
});
