import type { Bundle, DocumentReference, ImagingStudy, Observation, Resource } from '@medplum/fhirtypes';
import { createFhirClient } from '@imaging-facade/fhir';
import { mapStudySnapshot } from '../pipeline';
import { attr, newUid, studySnapshot } from '../test-support/study-events';
import { withdrawStudy } from './withdrawal';

/** Withdrawal against the real FHIR server (FHIR_BASE_URL). */
const baseUrl = process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';
const fhir = createFhirClient({ baseUrl, timeoutMs: 30_000 });
const settings = { defaultPatientIdSystem: 'https://imagingfacade.org/fhir/sid/patient-id/withdrawal-int' };

async function create<T extends Resource>(resource: T): Promise<T & { id: string }> {
  const response = await fetch(`${baseUrl}/${resource.resourceType}`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: JSON.stringify(resource),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as T & { id: string };
}

/** A search as any client would run it: `cached` leaves HAPI free to answer from its search cache. */
async function searchIds(query: string, cached = false): Promise<string[]> {
  const response = await fetch(`${baseUrl}/${query}`, {
    headers: { accept: 'application/fhir+json', ...(cached ? {} : { 'cache-control': 'no-cache' }) },
  });
  const bundle = (await response.json()) as Bundle;
  return (bundle.entry ?? []).map((entry) => `${entry.resource?.resourceType}/${entry.resource?.id}`);
}

const derived = (studyId: string) => ({
  document: {
    resourceType: 'DocumentReference',
    status: 'current',
    content: [{ attachment: { contentType: 'application/dicom', url: 'https://pacs.example/wado' } }],
    context: { related: [{ reference: `ImagingStudy/${studyId}` }] },
  } satisfies DocumentReference,
  dose: { resourceType: 'Observation', status: 'final', code: { text: 'CTDIvol' }, partOf: [{ reference: `ImagingStudy/${studyId}` }] } satisfies Observation,
});

describe('withdrawing a study from the real FHIR server', () => {
  test('the ImagingStudy and what references it leave every search at once; other studies stay; a later publication creates it again', async () => {
    const patientId = `WITHDRAW-${newUid().slice(-10)}`;
    const [refused, kept] = [0, 1].map(() => studySnapshot({ patient: { PatientID: attr('LO', patientId) }, series: [{ instances: 2 }] }));
    await mapStudySnapshot(refused!, fhir, settings);
    await mapStudySnapshot(kept!, fhir, settings);
    const [study] = await fhir.search('ImagingStudy', { identifier: `urn:oid:${refused!.studyInstanceUid}` });
    const [other] = await fhir.search('ImagingStudy', { identifier: `urn:oid:${kept!.studyInstanceUid}` });
    const made = derived(study!.id!);
    const created = [await create(made.document), await create(made.dose)].map((r) => `${r.resourceType}/${r.id}`);
    const otherDose = await create(derived(other!.id!).dose);
    const subject = study!.subject!.reference!;
    const queries = [
      `ImagingStudy?identifier=${encodeURIComponent(`urn:oid:${refused!.studyInstanceUid}`)}`,
      `ImagingStudy?_id=${study!.id}&_revinclude=*`,
      `DocumentReference?related=ImagingStudy/${study!.id}`,
      `Observation?part-of=ImagingStudy/${study!.id}`,
    ];
    const byPatient = `ImagingStudy?subject=${subject}`;
    // Warm HAPI's search cache, as an app polling the index would.
    for (const query of [...queries, byPatient]) await searchIds(query, true);
    expect(await searchIds(`ImagingStudy?_id=${study!.id}&_revinclude=*`)).toEqual(expect.arrayContaining([`ImagingStudy/${study!.id}`, ...created]));

    expect(await withdrawStudy(fhir, refused!.studyInstanceUid)).toEqual({ deletedStudies: [study!.id] });

    for (const query of queries) {
      expect({ query, found: await searchIds(query) }).toEqual({ query, found: [] });
      expect({ query, cached: await searchIds(query, true) }).toEqual({ query, cached: [] });
    }
    expect((await fetch(`${baseUrl}/ImagingStudy/${study!.id}`)).status).toBe(410);
    for (const reference of created) {
      expect((await fetch(`${baseUrl}/${reference}`)).status).toBe(410);
    }
    // The patient's other study, and what references it, are untouched; so is the Patient.
    expect(await searchIds(byPatient)).toEqual([`ImagingStudy/${other!.id}`]);
    expect(await searchIds(byPatient, true)).toEqual([`ImagingStudy/${other!.id}`]);
    expect(await searchIds(`Observation?part-of=ImagingStudy/${other!.id}`)).toEqual([`Observation/${otherDose.id}`]);
    expect((await fetch(`${baseUrl}/${subject}`)).status).toBe(200);

    // Withdrawing again finds nothing and writes nothing.
    expect(await withdrawStudy(fhir, refused!.studyInstanceUid)).toEqual({ deletedStudies: [] });

    const again = await mapStudySnapshot(refused!, fhir, settings);
    expect(again.outcome).toBe('created');
    const republished = await fhir.search('ImagingStudy', { identifier: `urn:oid:${refused!.studyInstanceUid}` });
    expect(republished).toHaveLength(1);
    expect(republished[0]!.id).not.toBe(study!.id);
    expect((republished[0] as ImagingStudy).numberOfInstances).toBe(2);
  });

  test('a study that remembers a rejected instance keeps remembering it once withdrawn: shared again from a node without the note, the instance stays out', async () => {
    const data = studySnapshot({ patient: { PatientID: attr('LO', `WITHDRAW-${newUid().slice(-10)}`) }, series: [{ instances: 2 }] });
    const [rejected, kept] = data.series[0]!.instances.map((instance) => instance.sopInstanceUid) as [string, string];
    await mapStudySnapshot({ ...data, series: [{ ...data.series[0]!, instances: data.series[0]!.instances.slice(1) }], rejected: [{ sopInstanceUid: rejected, reason: '113037' }] }, fhir, settings);
    expect((await withdrawStudy(fhir, data.studyInstanceUid)).deletedStudies).toHaveLength(1);
    expect(await searchIds(`Basic?identifier=${encodeURIComponent(`urn:oid:${data.studyInstanceUid}`)}`)).toHaveLength(1);

    // Shared again; the snapshot comes from a node that holds both instances and never had the note.
    expect(await mapStudySnapshot({ ...data, lastReceivedAt: '2024-01-05T11:00:00.000Z' }, fhir, settings)).toMatchObject({ outcome: 'created', numberOfInstances: 1 });
    const [study] = await fhir.search('ImagingStudy', { identifier: `urn:oid:${data.studyInstanceUid}` });
    expect(study!.series?.flatMap((series) => series.instance?.map((instance) => instance.uid))).toEqual([kept]);
    expect(await searchIds(`Basic?identifier=${encodeURIComponent(`urn:oid:${data.studyInstanceUid}`)}`)).toEqual([]);
  });
});
