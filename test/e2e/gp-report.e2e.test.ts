import type { ImagingStudy } from '@medplum/fhirtypes';
import { VALIDATED_REPORT_URL } from '@imaging-facade/fhir';
import { startGateway, type Gateway } from '../../services/fhir-gateway/src/test-support/harness';
import { startDicomweb, type DicomwebNode } from '../support/dicomweb';
import { studiesByUid } from '../support/fhir';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sample, SAMPLES, SYSTEM_PYTHON } from '../support/sample-files';
import { addSeries, makeStudy, STUDY_DATE, STUDY_TIME, type GeneratedStudy } from '../support/study-factory';
import { storescu } from '../support/dcmtk';
import { eventually } from '../support/wait';

/**
 * "GPs see a study once its report is validated": a token with the GP role scope (FACADE_GP_ROLE_SCOPE,
 * `gp` by default) finds neither the study nor its images, on the FHIR face or the DICOMweb face,
 * until the study holds a structured report COMPLETE and VERIFIED; a draft report changes nothing.
 * Real DICOM through the ingest (storescu), the reports being pydicom's real SR files; the gateway
 * searched as an EHR would (no Cache-Control).
 */

let pipeline: Pipeline;
let gateway: Gateway;
let node: DicomwebNode;
let study: GeneratedStudy;
/** Another study of the same patient, never reported. */
let other: GeneratedStudy;
let clinician: string;
let gp: string;
let imagingStudyId: string;

const uids = (body: Buffer): string[] => (JSON.parse(body.toString('utf8')) as Array<Record<string, { Value?: string[] }>>).map((match) => match['0020000D']?.Value?.[0] ?? '');
/** A GP's search as an EHR sends it: no Cache-Control. */
const gpSearch = async (): Promise<string[]> => {
  const response = await fetch(`${gateway.base}/ImagingStudy?identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${study.studyInstanceUid}`)}`, {
    headers: { authorization: `Bearer ${gp}`, accept: 'application/fhir+json' },
  });
  expect(response.status).toBe(200);
  const bundle = (await response.json()) as { entry?: Array<{ resource: ImagingStudy }> };
  return (bundle.entry ?? []).map((entry) => entry.resource.id as string);
};
const instancesInIndex = async (): Promise<number> => (await studiesByUid(study.studyInstanceUid))[0]?.numberOfInstances ?? 0;

beforeAll(async () => {
  gateway = await startGateway();
  pipeline = await startPipeline({});
  // With the viewer (its summary API: the study's dose, the patient's cumulative dose).
  const viewerDir = path.join(process.env.FACADE_DATA_DIR ?? path.join(__dirname, '..', '..', '.data'), 'ohif', 'dist');
  node = await startDicomweb({ storageDir: pipeline.storageDir, topicPrefix: pipeline.topicPrefix, gatewayOrigin: gateway.origin, env: { VIEWER_DIR: viewerDir } });
  clinician = await gateway.token('user/ImagingStudy.rs user/Patient.rs user/Observation.rs');
  gp = await gateway.token('openid gp user/ImagingStudy.rs user/Patient.rs user/DocumentReference.rs user/Observation.rs');
  study = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 2 }]);
  // With its dose report (generated, PS3.16 TID 10011): dose Observations and the patient's cumulative dose.
  const rdsr = path.join(mkdtempSync(path.join(tmpdir(), 'facade-rdsr-')), 'ct.dcm');
  execFileSync(SYSTEM_PYTHON, [
    path.join(__dirname, '..', 'fixtures', 'generate-rdsr.py'),
    ...['--kind', 'ct', '--out', rdsr, '--events', '2', '--study-uid', study.studyInstanceUid, '--patient-id', study.patientId],
    ...['--accession', `GP-${study.studyInstanceUid.slice(-8)}`, '--study-date', STUDY_DATE, '--study-time', STUDY_TIME],
  ]);
  other = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 1 }], study.patientId);
  expect((await storescu(pipeline.dicomPort, [...study.files, rdsr, ...other.files])).code).toBe(0);
  await eventually(async () => (await studiesByUid(other.studyInstanceUid))[0]?.id, { timeoutMs: 60_000, what: 'the other study in the index' });
  imagingStudyId = await eventually(async () => (await studiesByUid(study.studyInstanceUid))[0]?.id, { timeoutMs: 60_000, what: 'the ImagingStudy in the index' });
  await eventually(async () => ((await node.get(`/studies?StudyInstanceUID=${study.studyInstanceUid}`, clinician)).body.length > 2 ? true : undefined), {
    timeoutMs: 60_000,
    what: 'the study in the DICOMweb index',
  });
});

afterAll(async () => {
  await node?.stop();
  await pipeline?.stop();
  await gateway?.stop();
});

/** The patient's Observations a token finds: the study's dose ones (`partOf`) and the cumulative dose. */
async function observationsOf(token: string): Promise<{ study: number; cumulative: number }> {
  const patient = ((await gateway.get(`ImagingStudy/${imagingStudyId}`, clinician)).body as ImagingStudy).subject?.reference as string;
  const found = await gateway.get(`Observation?subject=${patient}&_count=200`, token);
  expect(found.status).toBe(200);
  const resources = (found.body.entry ?? []).map((entry: { resource: { partOf?: unknown } }) => entry.resource);
  return { study: resources.filter((resource: { partOf?: unknown }) => resource.partOf !== undefined).length, cumulative: resources.filter((resource: { partOf?: unknown }) => resource.partOf === undefined).length };
}

async function expectHiddenFromGp(): Promise<void> {
  expect(await observationsOf(gp)).toEqual({ study: 0, cumulative: 0 });
  expect(await gpSearch()).toEqual([]);
  expect((await gateway.get(`ImagingStudy/${imagingStudyId}`, gp)).status).toBe(404);
  const manifests = await gateway.get(`DocumentReference?related=ImagingStudy/${imagingStudyId}`, gp);
  expect(manifests.status).toBe(200);
  expect(manifests.body.entry ?? []).toEqual([]);
  // An include narrowed by type-qualified _elements (it dropped the manifest's study link, and the manifest came back).
  const patient = ((await gateway.get(`ImagingStudy/${imagingStudyId}`, clinician)).body as ImagingStudy).subject?.reference as string;
  const narrowed = await gateway.get(`ImagingStudy?subject=${patient}&_elements=ImagingStudy.id,DocumentReference.content,DocumentReference.subject&_revinclude=DocumentReference:related`, gp);
  expect(narrowed.status).toBe(200);
  expect((narrowed.body.entry ?? []).map((entry: { resource: { resourceType: string } }) => entry.resource.resourceType)).toEqual([]);
  expect(uids((await node.get(`/studies?StudyInstanceUID=${study.studyInstanceUid}`, gp)).body)).toEqual([]);
  expect((await node.get(`/studies/${study.studyInstanceUid}/metadata`, gp)).status).toBe(404);
}

test('before any report, the GP finds neither the study, its manifest nor its images; a clinician finds them all', async () => {
  await eventually(async () => ((await observationsOf(clinician)).cumulative === 1 ? true : undefined), { timeoutMs: 60_000, what: 'the dose Observations in the index' });
  await expectHiddenFromGp();
  expect((await gateway.get(`ImagingStudy/${imagingStudyId}`, clinician)).status).toBe(200);
  expect(uids((await node.get(`/studies?StudyInstanceUID=${study.studyInstanceUid}`, clinician)).body)).toEqual([study.studyInstanceUid]);
});

test('a draft report (PARTIAL, UNVERIFIED) changes nothing for the GP', async () => {
  const draft = await addSeries(study, { source: sample('reportsi.dcm'), instances: 1 });
  expect((await storescu(pipeline.dicomPort, draft.files)).code).toBe(0);
  await eventually(async () => ((await instancesInIndex()) === 3 ? true : undefined), { timeoutMs: 60_000, what: 'the draft in the ImagingStudy' });
  await eventually(async () => ((await node.get(`/studies/${study.studyInstanceUid}/series/${draft.seriesInstanceUid}/instances`, clinician)).status === 200 ? true : undefined), {
    timeoutMs: 60_000,
    what: 'the draft in the DICOMweb index',
  });
  await expectHiddenFromGp();
});

test('once a validated report is stored (COMPLETE, VERIFIED), the GP finds the study, its manifest and its images', async () => {
  const report = await addSeries(study, { source: sample('test-SR.dcm'), instances: 1 });
  expect((await storescu(pipeline.dicomPort, report.files)).code).toBe(0);
  expect(await eventually(async () => ((await gpSearch()).length > 0 ? gpSearch() : undefined), { timeoutMs: 60_000, what: 'the study in the GP\'s search' })).toEqual([imagingStudyId]);

  const read = await gateway.get(`ImagingStudy/${imagingStudyId}`, gp);
  expect(read.status).toBe(200);
  const reportInstance = (read.body as ImagingStudy).series?.find((series) => series.uid === report.seriesInstanceUid)?.instance?.[0];
  expect(reportInstance?.extension).toEqual([{ url: VALIDATED_REPORT_URL, valueBoolean: true }]);
  // The draft says nothing of itself.
  expect((read.body as ImagingStudy).series?.find((series) => series.modality.code === 'SR' && series.uid !== report.seriesInstanceUid)?.instance?.[0]?.extension).toBeUndefined();
  const manifests = await gateway.get(`DocumentReference?related=ImagingStudy/${imagingStudyId}`, gp);
  expect(manifests.body.entry ?? []).toHaveLength(1);

  await eventually(async () => (uids((await node.get(`/studies?StudyInstanceUID=${study.studyInstanceUid}`, gp)).body).length === 1 ? true : undefined), {
    timeoutMs: 60_000,
    what: 'the study in the GP\'s DICOMweb search',
  });
  expect((await node.get(`/studies/${study.studyInstanceUid}/metadata`, gp)).status).toBe(200);

  // Paging counts the reported study only: one per page, and no `next` link for the other study,
  // which waits for its report (HAPI's query is filtered, not just the answer).
  const patient = (read.body as ImagingStudy).subject?.reference as string;
  const paged = await fetch(`${gateway.base}/ImagingStudy?subject=${patient}&_count=1`, { headers: { authorization: `Bearer ${gp}`, accept: 'application/fhir+json' } });
  const page = (await paged.json()) as { entry?: Array<{ resource: ImagingStudy }>; link?: Array<{ relation: string }> };
  expect(page.entry?.map((entry) => entry.resource.id)).toEqual([imagingStudyId]);
  expect(page.link?.filter((link) => link.relation === 'next')).toEqual([]);

  // The study's dose, but not the patient's cumulative dose: it counts every study, reported or not.
  const observations = await observationsOf(gp);
  expect(observations.study).toBeGreaterThan(0);
  expect(observations.cumulative).toBe(0);
  const summary = async (token: string) => JSON.parse((await node.get(`${node.origin}/viewer-api/studies/${study.studyInstanceUid}/summary`, token)).body.toString('utf8'));
  expect((await summary(gp)).cumulative).toBeNull();
  expect((await summary(clinician)).cumulative).toMatchObject({ studies: 1 });
});
