import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DocumentReference, Endpoint, ImagingStudy, Observation, ObservationComponent, Patient } from '@medplum/fhirtypes';
import { runDcmtk, storescu } from '../support/dcmtk';
import { read, search, studiesByUid, validationErrors } from '../support/fhir';
import { metric, startPipeline, type Pipeline } from '../support/pipeline';
import { SAMPLES, SYSTEM_PYTHON } from '../support/sample-files';
import { addSeries, makeStudy, STUDY_DATE, STUDY_TIME, type GeneratedStudy } from '../support/study-factory';
import { newUid } from '../support/uids';
import { eventually } from '../support/wait';
import { rejectionNote } from '../support/rejection-notes';

/**
 * End to end, IHE XDS-I.b / MHD-I / RAD MADO and REM: real files and generated radiation dose
 * reports sent with storescu → dicom-ingest (which writes each study's manifest, a DICOM KOS) →
 * Kafka → imaging-mapper → HAPI FHIR, checked element by element and with the server's $validate:
 * the node's Endpoint, the manifest's one current DocumentReference, the dose Observations.
 */

const GENERATE_RDSR = path.join(__dirname, '..', 'fixtures', 'generate-rdsr.py');
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const KOS = '1.2.840.10008.5.1.4.1.1.88.59';
const NODE_UID = `1.2.826.0.1.3680043.10.1042.${Date.now()}`;
const DICOMWEB = 'http://facade-node.example:8010/dicomweb';
const ISSUER_OID = '1.2.250.1.999.1.1';

let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await startPipeline({
    FACADE_NODE_UID: NODE_UID,
    FACADE_DICOMWEB_BASE_URL: DICOMWEB,
    FACADE_ORGANIZATION_NAME: 'Imaging Facade e2e',
    FACADE_ORGANIZATION_ID_SYSTEM: 'urn:oid:1.2.250.1.71.4.2.2',
    FACADE_ORGANIZATION_ID: '1750000042',
  });
});

afterAll(async () => {
  await pipeline?.stop();
});

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} failed: ${stderr || error.message}`)) : resolve(stdout),
    );
  });
}

interface GeneratedReport {
  file: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  dlpTotal?: number;
  events: Array<{ uid: string; ctdivol?: number; dlp?: number; dapGym2?: number; doseRpGy?: number }>;
  totals?: { dap: number; rp: number; fluoroTime: number; frames: number };
}

/** A dose report of the study, written by the generator (PS3.16 templates). */
async function doseReport(study: GeneratedStudy, kind: 'ct' | 'projection', accession: string): Promise<GeneratedReport> {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'facade-rdsr-')), `${kind}.dcm`);
  const args = [GENERATE_RDSR, '--kind', kind, '--out', out, '--events', '3', '--study-uid', study.studyInstanceUid];
  args.push('--patient-id', study.patientId, '--accession', accession, '--study-date', STUDY_DATE, '--study-time', STUDY_TIME);
  return JSON.parse(await run(SYSTEM_PYTHON, args)) as GeneratedReport;
}

/** Every file of the study gets the same accession number (the samples each carry their own). */
async function setAccession(files: string[], accession: string): Promise<void> {
  for (const file of files) {
    const result = await runDcmtk('dcmodify', ['-nb', '-i', `(0008,0050)=${accession}`, file]);
    expect(result.code).toBe(0);
  }
}

async function send(files: string[]): Promise<void> {
  const result = await storescu(pipeline.dicomPort, files);
  if (result.code !== 0 || /^[EF]: /m.test(result.output)) {
    // What storescu said, as a user would read it.
    throw new Error(`storescu ended with ${result.code}:\n${result.output.slice(-3000)}`);
  }
}

async function publishedStudy(studyInstanceUid: string, instances: number): Promise<ImagingStudy> {
  return eventually(
    async () => {
      const found = await studiesByUid(studyInstanceUid);
      if (found.length > 1) {
        throw new Error(`${found.length} ImagingStudy resources for one study`);
      }
      return found[0]?.numberOfInstances === instances ? found[0] : undefined;
    },
    { timeoutMs: 90_000, what: `the ImagingStudy of ${studyInstanceUid} with ${instances} instances` },
  );
}

/** The study's DocumentReferences, once `ready` holds for exactly one. */
async function manifestReference(study: ImagingStudy, ready: (doc: DocumentReference) => boolean = () => true): Promise<DocumentReference> {
  return eventually(
    async () => {
      const found = await search<DocumentReference>(`DocumentReference?related=ImagingStudy/${study.id}`);
      if (found.length > 1) {
        throw new Error(`${found.length} DocumentReferences for one study`);
      }
      return found.length === 1 && ready(found[0]!) ? found[0] : undefined;
    },
    { timeoutMs: 60_000, what: `the manifest DocumentReference of ImagingStudy/${study.id}` },
  );
}

async function doseObservations(study: ImagingStudy, count: number): Promise<Observation[]> {
  return eventually(
    async () => {
      const found = await search<Observation>(`Observation?part-of=ImagingStudy/${study.id}&_count=100`);
      return found.length === count ? found : undefined;
    },
    { timeoutMs: 60_000, what: `${count} dose Observations of ImagingStudy/${study.id}` },
  );
}

/** The manifest file the DocumentReference points at (its WADO-RS URL), in the node's storage. */
function manifestFile(doc: DocumentReference): string {
  const url = doc.content[0]?.attachment.url ?? '';
  const match = /\/studies\/([\d.]+)\/series\/([\d.]+)\/instances\/([\d.]+)$/.exec(url);
  expect(match).not.toBeNull();
  return path.join(pipeline.storageDir, match![1]!, match![2]!, `${match![3]}.dcm`);
}

interface KosView {
  sopClass: string;
  sop: string;
  title: string[];
  study: string;
  patientId: string;
  references: string[];
  content: string[];
  retrieve: Array<[string, string, string | null]>;
}

async function readKos(file: string): Promise<KosView> {
  const script = `
import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
refs = [r.ReferencedSOPInstanceUID for e in ds.CurrentRequestedProcedureEvidenceSequence for s in e.ReferencedSeriesSequence for r in s.ReferencedSOPSequence]
print(json.dumps({'sopClass': ds.SOPClassUID, 'sop': ds.SOPInstanceUID,
  'title': [ds.ConceptNameCodeSequence[0].CodeValue, ds.ConceptNameCodeSequence[0].CodingSchemeDesignator, ds.ConceptNameCodeSequence[0].CodeMeaning],
  'study': ds.StudyInstanceUID, 'patientId': ds.PatientID, 'references': sorted(refs),
  'content': sorted(c.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for c in ds.ContentSequence if 'ReferencedSOPSequence' in c),
  'retrieve': [[s.RetrieveAETitle, s.RetrieveLocationUID, s.get('RetrieveURL')] for e in ds.CurrentRequestedProcedureEvidenceSequence for s in e.ReferencedSeriesSequence]}))`;
  return JSON.parse(await run(SYSTEM_PYTHON, ['-c', script, file])) as KosView;
}

/** A CT study of two images and its dose report, sent and published. */
async function sendCtStudyWithReport(): Promise<{ study: GeneratedStudy; report: GeneratedReport; published: ImagingStudy }> {
  const study = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 2 }]);
  const accession = `ACC-${newUid().slice(-8)}`;
  await setAccession(study.files, accession);
  const report = await doseReport(study, 'ct', accession);
  await send([...study.files, report.file]);
  return { study, report, published: await publishedStudy(study.studyInstanceUid, 3) };
}

/** The patient's cumulative dose Observation (none, or one). */
const cumulativeDoseOf = (subject: string): Promise<Observation[]> =>
  search<Observation>(`Observation?subject=${subject}&code=${encodeURIComponent('https://imagingfacade.org/fhir/CodeSystem/radiation-dose|cumulative-patient-dose')}`);

const componentValue = (observation: Observation, code: string): ObservationComponent | undefined =>
  observation.component?.find((component) => component.code.coding?.[0]?.code === code);

describe('the Endpoint, the manifest and the dose of a study, end to end', () => {
  test('a CT study with its dose report: Endpoint, one manifest DocumentReference whose KOS lists every instance, dose Observations', async () => {
    const study = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 2 }]);
    const accession = `ACC-${newUid().slice(-8)}`;
    await setAccession(study.files, accession);
    // The images name their Patient ID's issuer; the dose report, sent last as modalities send it, has
    // none and a name of its own ("Dose^Test"), as a report from a dose management system may.
    for (const file of study.files) {
      expect((await runDcmtk('dcmodify', ['-nb', '-i', `(0010,0021)=${ISSUER_OID}`, file])).code).toBe(0);
    }
    const report = await doseReport(study, 'ct', accession);
    await send([...study.files, report.file]);

    const published = await publishedStudy(study.studyInstanceUid, 3);

    // The study's patient is its images' patient, whatever came last.
    const patient = await read<Patient>(published.subject.reference!);
    expect(patient.identifier).toContainEqual(expect.objectContaining({ system: `urn:oid:${ISSUER_OID}`, value: study.patientId }));
    expect(patient.name?.[0]?.family).toBe('CompressedSamples');

    // The node's Endpoint, referenced by the study and each series.
    const endpoints = await search<Endpoint>(`Endpoint?identifier=${encodeURIComponent(`urn:ietf:rfc:3986|urn:oid:${NODE_UID}`)}`);
    expect(endpoints).toHaveLength(1);
    const endpoint = endpoints[0]!;
    expect(endpoint.status).toBe('active');
    expect(endpoint.connectionType).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'dicom-wado-rs', display: 'DICOM WADO-RS' });
    expect(endpoint.payloadMimeType).toEqual(['application/dicom']);
    expect(endpoint.address).toBe(DICOMWEB);
    expect(published.endpoint).toEqual([{ reference: `Endpoint/${endpoint.id}` }]);
    expect(published.series?.map((series) => series.endpoint)).toEqual(published.series?.map(() => [{ reference: `Endpoint/${endpoint.id}` }]));
    // The manifest is the node's own object: not listed in the study.
    expect(published.series?.flatMap((series) => series.instance ?? []).some((instance) => instance.sopClass.code === `urn:oid:${KOS}`)).toBe(false);

    // The manifest's DocumentReference, element by element.
    const doc = await manifestReference(published);
    const kos = await readKos(manifestFile(doc));
    expect(doc.status).toBe('current');
    expect(doc.masterIdentifier).toEqual({ system: 'urn:ietf:rfc:3986', value: `urn:oid:${kos.sop}` });
    expect(doc.identifier?.[0]).toMatchObject({ use: 'official', system: 'urn:ietf:rfc:3986', value: expect.stringMatching(/^urn:uuid:/) });
    expect(doc.type?.coding?.[0]).toEqual({ system: 'http://loinc.org', code: '18748-4', display: 'Diagnostic imaging study' });
    expect(doc.category?.[0]?.coding?.[0]).toEqual({ system: 'http://loinc.org', code: '18726-0', display: 'Radiology studies (set)' });
    expect(doc.subject).toEqual(published.subject);
    expect(doc.date).toBe(published.started?.length === 10 ? doc.content[0]?.attachment.creation : published.started);
    expect(doc.context?.period?.start).toBe(published.started);
    expect(doc.contained?.[0]).toMatchObject({ resourceType: 'Organization', name: 'Imaging Facade e2e', identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.2', value: '1750000042' }] });
    expect(doc.author).toEqual([{ reference: `#${doc.contained?.[0]?.id}` }]);
    expect(doc.custodian).toEqual({ reference: `#${doc.contained?.[0]?.id}` });
    expect(doc.content).toEqual([
      {
        attachment: {
          contentType: 'application/dicom',
          url: expect.stringMatching(new RegExp(`^${DICOMWEB}/studies/${study.studyInstanceUid}/series/[\\d.]+/instances/${kos.sop}$`)),
          title: 'Manifest',
          creation: expect.any(String),
        },
        format: { system: 'http://dicom.nema.org/resources/ontology/DCMUID', code: KOS, display: 'Key Object Selection Document' },
      },
    ]);
    expect(doc.context?.event?.map((event) => event.coding?.[0]?.code).sort()).toEqual(['CT', 'SR']);
    expect(doc.context?.related?.[0]).toMatchObject({ reference: `ImagingStudy/${published.id}`, identifier: { system: 'urn:dicom:uid', value: `urn:oid:${study.studyInstanceUid}` } });
    expect(doc.context?.related?.[1]?.identifier).toMatchObject({ type: { coding: [expect.objectContaining({ code: 'ACSN' })] }, value: accession });

    // The KOS itself: a manifest of every instance, by series, with where to retrieve them.
    const sent = [...study.series.flatMap((series) => series.sopInstanceUids), report.sopInstanceUid].sort();
    expect(kos).toMatchObject({ sopClass: KOS, title: ['113030', 'DCM', 'Manifest'], study: study.studyInstanceUid, patientId: study.patientId });
    expect(kos.references).toEqual(sent);
    expect(kos.content).toEqual(sent);
    expect(kos.retrieve).toEqual(kos.retrieve.map(() => ['FACADE', NODE_UID, expect.stringMatching(new RegExp(`^${DICOMWEB}/studies/`))]));
    const dsr = await runDcmtk('dsrdump', ['-Ee', manifestFile(doc)]);
    expect(dsr.code).toBe(0);
    expect(`${dsr.stdout}${dsr.stderr}`).not.toMatch(/^(E|F): /m);

    // The dose: one summary and one Observation per irradiation event.
    const observations = await doseObservations(published, 1 + report.events.length);
    const summary = observations.find((observation) => observation.code.coding?.[0]?.code === '73569-6')!;
    expect(summary.code.coding?.[0]).toEqual({ system: 'http://loinc.org', code: '73569-6', display: 'Radiation exposure and protection information [Description] Document Diagnostic imaging' });
    expect(summary.identifier?.[0]).toMatchObject({ system: 'urn:dicom:uid', value: `urn:oid:${report.sopInstanceUid}` });
    expect(summary.subject).toEqual(published.subject);
    expect(summary.partOf?.[0]).toMatchObject({ reference: `ImagingStudy/${published.id}`, identifier: { value: `urn:oid:${study.studyInstanceUid}` } });
    expect(summary.basedOn?.[0]?.identifier?.value).toBe(accession);
    expect(summary.effectiveDateTime).toBe('2024-01-05T10:15:00.000000+01:00');
    expect(componentValue(summary, '121058')?.valueCodeableConcept?.coding?.[0]).toMatchObject({ system: 'http://snomed.info/sct', code: '77477000' });
    expect(componentValue(summary, '113813')?.valueQuantity).toEqual({ value: report.dlpTotal, unit: 'mGy.cm', system: 'http://unitsofmeasure.org', code: 'mGy.cm' });
    const events = observations.filter((observation) => observation.code.coding?.[0]?.code === '113852');
    expect(summary.hasMember?.map((member) => member.reference).sort()).toEqual(events.map((event) => `Observation/${event.id}`).sort());
    for (const expected of report.events) {
      const event = events.find((observation) => observation.identifier?.[0]?.value === `urn:oid:${expected.uid}`);
      expect(componentValue(event!, '113830')?.valueQuantity).toMatchObject({ value: expected.ctdivol, code: 'mGy' });
      expect(componentValue(event!, '113838')?.valueQuantity).toMatchObject({ value: expected.dlp, code: 'mGy.cm' });
      expect(componentValue(event!, '113835')?.valueCodeableConcept?.coding?.[0]).toMatchObject({ system: DCM, code: '113691' });
    }

    // The server's own validator: no error.
    for (const resource of [endpoint, doc, ...observations]) {
      expect({ resource: `${resource.resourceType}/${resource.id}`, errors: await validationErrors(resource) }).toEqual({
        resource: `${resource.resourceType}/${resource.id}`,
        errors: [],
      });
    }
  });

  test('a Patient ID corrected at the source moves the study, its manifest, its dose and its cumulative dose to the corrected patient', async () => {
    const { study, report, published: filed } = await sendCtStudyWithReport();
    const files = [...study.files, report.file];
    const wrong = filed.subject!.reference!;
    await doseObservations(filed, 1 + report.events.length);
    await eventually(async () => ((await cumulativeDoseOf(wrong)).length === 1 ? true : undefined), { what: 'the first patient\'s cumulative dose' });

    // The PACS corrects the Patient ID (same issuer: none, the node's default) and sends the study again.
    const corrected = `${study.patientId}-C`;
    for (const file of files) {
      expect((await runDcmtk('dcmodify', ['-nb', '-m', `(0010,0020)=${corrected}`, file])).code).toBe(0);
    }
    await send(files);
    const moved = await eventually(async () => {
      const [found] = await studiesByUid(study.studyInstanceUid);
      return found && found.subject?.reference !== wrong ? found : undefined;
    }, { timeoutMs: 90_000, what: 'the study filed under the corrected patient' });
    expect(moved.id).toBe(filed.id);
    const subject = moved.subject!.reference!;
    expect((await read<Patient>(subject)).identifier?.map((identifier) => identifier.value)).toContain(corrected);
    expect((await read<Patient>(wrong)).identifier?.map((identifier) => identifier.value)).not.toContain(corrected);

    const doc = await manifestReference(moved, (found) => found.subject?.reference === subject);
    expect(doc.subject?.reference).toBe(subject);
    const observations = await eventually(async () => {
      const found = await doseObservations(moved, 1 + report.events.length);
      return found.every((observation) => observation.subject?.reference === subject) ? found : undefined;
    }, { what: 'the dose Observations filed under the corrected patient' });
    expect(observations).toHaveLength(1 + report.events.length);
    // The study counts for the corrected patient only.
    await eventually(async () => ((await cumulativeDoseOf(wrong)).length === 0 ? true : undefined), { what: 'the first patient\'s cumulative dose gone' });
    const [cumulative] = await eventually(async () => {
      const found = await cumulativeDoseOf(subject);
      return found.length === 1 ? found : undefined;
    }, { what: 'the corrected patient\'s cumulative dose' });
    expect(componentValue(cumulative!, '113813')?.valueQuantity?.value).toBeCloseTo(report.dlpTotal!, 6);
    expect(await studiesByUid(study.studyInstanceUid)).toHaveLength(1);
  });

  test('a dose report taken back at the source (IHE IOCM, wrong worklist entry) stops counting: its Observations and the patient\'s cumulative dose go', async () => {
    const { study, report, published } = await sendCtStudyWithReport();
    await doseObservations(published, 1 + report.events.length);
    const cumulative = () => cumulativeDoseOf(published.subject!.reference!);
    await eventually(async () => ((await cumulative()).length === 1 ? true : undefined), { what: 'the cumulative dose with the report' });

    const note = rejectionNote(study, '113038', [{ seriesInstanceUid: report.seriesInstanceUid, sopClassUid: '1.2.840.10008.5.1.4.1.1.88.67', sopInstanceUid: report.sopInstanceUid }]);
    await send([note.file]);
    const kept = await publishedStudy(study.studyInstanceUid, 2);
    expect(kept.id).toBe(published.id);
    expect(kept.series?.map((series) => series.uid)).toEqual([study.series[0]!.seriesInstanceUid]);
    // The images carry no CTDIvol: with the report gone the study has no dose left.
    await doseObservations(kept, 0);
    await eventually(async () => ((await cumulative()).length === 0 ? true : undefined), { what: 'the cumulative dose gone with the report' });
  });

  test('CT images taken back at the source: the Mean CTDIvol of their series goes, the study\'s summary keeps the other series', async () => {
    const study = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 1 }, { source: SAMPLES.ctExplicitLittle, instances: 1 }]);
    for (const [index, file] of study.files.entries()) {
      expect((await runDcmtk('dcmodify', ['-nb', '-i', `(0018,9345)=${index === 0 ? '10' : '20'}`, file])).code).toBe(0);
    }
    await send(study.files);
    const published = await publishedStudy(study.studyInstanceUid, 2);
    await doseObservations(published, 3);
    const [kept, taken] = study.series as [GeneratedStudy['series'][number], GeneratedStudy['series'][number]];
    const note = rejectionNote(study, '113001', [{ seriesInstanceUid: taken.seriesInstanceUid, sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: taken.sopInstanceUids[0]! }]);
    await send([note.file]);
    await publishedStudy(study.studyInstanceUid, 1);
    const observations = await doseObservations(published, 2);
    const series = observations.filter((observation) => observation.code.coding?.[0]?.code === '113830');
    expect(series.map((observation) => observation.identifier?.[0]?.value)).toEqual([`urn:oid:${kept.seriesInstanceUid}`]);
    const summary = observations.find((observation) => observation.code.coding?.[0]?.code === '73569-6');
    expect(summary?.hasMember?.map((member) => member.reference)).toEqual([`Observation/${series[0]?.id}`]);
  });

  test('a projection X-ray dose report: DAP stated in Gy.m2 is published in mGy.cm2, doses in mGy', async () => {
    const study = await makeStudy([{ source: SAMPLES.mrExplicitLittle, instances: 1 }]);
    const accession = `ACC-${newUid().slice(-8)}`;
    await setAccession(study.files, accession);
    const report = await doseReport(study, 'projection', accession);
    await send([...study.files, report.file]);

    const published = await publishedStudy(study.studyInstanceUid, 2);
    const observations = await doseObservations(published, 1 + report.events.length);
    const summary = observations.find((observation) => observation.code.coding?.[0]?.code === '73569-6')!;
    const mGyCm2 = (gym2: number) => Number((gym2 * 1e7).toPrecision(12));
    expect(componentValue(summary, '121058')?.valueCodeableConcept?.coding?.[0]).toMatchObject({ system: DCM, code: '113704' });
    expect(componentValue(summary, '113722')?.valueQuantity).toEqual({ value: mGyCm2(report.totals!.dap), unit: 'mGy.cm2', system: 'http://unitsofmeasure.org', code: 'mGy.cm2' });
    expect(componentValue(summary, '113725')?.valueQuantity).toMatchObject({ value: Number((report.totals!.rp * 1000).toPrecision(12)), code: 'mGy' });
    expect(componentValue(summary, '113730')?.valueQuantity).toMatchObject({ value: report.totals!.fluoroTime, code: 's' });
    for (const expected of report.events) {
      const event = observations.find((observation) => observation.identifier?.[0]?.value === `urn:oid:${expected.uid}`)!;
      expect(componentValue(event, '122130')?.valueQuantity).toMatchObject({ value: mGyCm2(expected.dapGym2!), code: 'mGy.cm2' });
      expect(componentValue(event, '113738')?.valueQuantity).toMatchObject({ value: Number((expected.doseRpGy! * 1000).toPrecision(12)), code: 'mGy' });
    }
    for (const observation of observations) {
      expect(await validationErrors(observation)).toEqual([]);
    }
  });

  test('when a study grows, it keeps exactly one current DocumentReference, whose KOS references every instance', async () => {
    const study = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 2 }]);
    await send(study.files);
    const first = await publishedStudy(study.studyInstanceUid, 2);
    const before = await manifestReference(first);
    const firstKos = manifestFile(before);
    expect((await readKos(firstKos)).references).toEqual([...study.series[0]!.sopInstanceUids].sort());

    const late = await addSeries(study, { source: SAMPLES.mrExplicitLittle, instances: 2 });
    await send(late.files);
    const grown = await publishedStudy(study.studyInstanceUid, 4);
    expect(grown.id).toBe(first.id);
    const after = await manifestReference(grown, (doc) => doc.masterIdentifier?.value !== before.masterIdentifier?.value);

    expect(after.id).toBe(before.id);
    expect(after.meta?.versionId).toBe(String(Number(before.meta?.versionId) + 1));
    expect(after.identifier?.[0]).toEqual(before.identifier?.[0]);
    const byIdentifier = await search<DocumentReference>(`DocumentReference?identifier=${encodeURIComponent(`${after.identifier![0]!.system}|${after.identifier![0]!.value}`)}`);
    expect(byIdentifier.map((doc) => doc.id)).toEqual([after.id]);
    const kos = await readKos(manifestFile(after));
    expect(kos.references).toEqual(study.series.flatMap((series) => series.sopInstanceUids).sort());
    expect(after.masterIdentifier?.value).toBe(`urn:oid:${kos.sop}`);
    expect(existsSync(firstKos)).toBe(false); // the previous manifest was replaced on disk
    expect(await validationErrors(after)).toEqual([]);

    // Sending the study again changes nothing; the mapper has handled it once its processed count moved on.
    const processed = () => metric(pipeline.mapperPort, 'facade_consumed_messages_total', { outcome: 'processed' });
    const processedBefore = await processed();
    await send(study.files);
    await eventually(async () => ((await processed()) > processedBefore ? true : undefined), { what: 'the re-sent study to be mapped' });
    const again = await read<DocumentReference>(`DocumentReference/${after.id}`);
    expect(again.meta?.versionId).toBe(after.meta?.versionId);
  });

  test('a CT study without a dose report: the mean CTDIvol of each series, from the image headers', async () => {
    const study = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 2 }]);
    for (const [index, file] of study.files.entries()) {
      const result = await runDcmtk('dcmodify', ['-nb', '-i', `(0018,9345)=${index === 0 ? '12.5' : '13.5'}`, file]);
      expect(result.code).toBe(0);
    }
    await send(study.files);
    const published = await publishedStudy(study.studyInstanceUid, 2);
    const observations = await doseObservations(published, 2);
    const summary = observations.find((observation) => observation.code.coding?.[0]?.code === '73569-6')!;
    const series = observations.find((observation) => observation.code.coding?.[0]?.code === '113830')!;
    expect(summary.identifier?.[0]?.value).toBe(`urn:oid:${study.studyInstanceUid}`);
    expect(summary.hasMember?.[0]?.reference).toBe(`Observation/${series.id}`);
    expect(series.identifier?.[0]).toEqual({ system: 'urn:dicom:uid', value: `urn:oid:${study.series[0]!.seriesInstanceUid}` });
    expect(series.valueQuantity).toEqual({ value: 13, unit: 'mGy', system: 'http://unitsofmeasure.org', code: 'mGy' });
    expect(summary.component?.find((component) => component.code.coding?.[0]?.code === '113813')).toBeUndefined();
    for (const observation of observations) {
      expect(await validationErrors(observation)).toEqual([]);
    }
  });
});

