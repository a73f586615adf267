import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readPart10, type DicomJson } from '@imaging-facade/dicom';
import { SR_CONTENT_TAGS, type StudyCompletedV1Data, type StudySeries } from '@imaging-facade/events';
import type { Observation } from '@medplum/fhirtypes';
import { createFhirClient, FhirError, isRetryableFhirError } from '@imaging-facade/fhir';
import { indexWriter } from '../index-writer';
import { fhirServer } from '../test-support/fhir-server';
import { componentValues } from '../test-support/dose-study';
import { attr, newUid, studySnapshot } from '../test-support/study-events';
import { CUMULATIVE_DOSE_CODE } from './cumulative-dose';
import { DEFAULT_NODE_SETTINGS, type NodeSettings } from '../node-settings';
import { ctReport, manifestOf } from '../test-support/dose-content';
import { IRRADIATION_EVENT_CODE } from './dose-mapping';

/**
 * The cumulative dose of a patient on the real HAPI FHIR server (FHIR_BASE_URL), from RDSR files
 * written by test/fixtures/generate-rdsr.py (a CT report, a fluoroscopy report in vendor units, a
 * mammography report), checked against an independent pydicom read of the same files
 * (test/fixtures/read-rdsr-doses.py): two studies, the first one delivered again, a third study,
 * then the second one withdrawn (consent refused).
 */
const baseUrl = process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';
const fhir = createFhirClient({ baseUrl, timeoutMs: 30_000 });
const { validationErrors } = fhirServer(fhir);
const SYSTEM_PYTHON = '/usr/bin/python3';
const FIXTURES = path.join(__dirname, '..', '..', '..', '..', 'test', 'fixtures');
const PATIENT_SYSTEM = 'https://imagingfacade.org/fhir/sid/patient-id/cumulative-int';
const patientId = `DOSE-INT-${newUid().slice(-12)}`;
const writer = indexWriter(fhir, { defaultPatientIdSystem: PATIENT_SYSTEM });
const dir = mkdtempSync(path.join(tmpdir(), 'cumulative-dose-'));

interface Report {
  file: string;
  studyInstanceUid: string;
  sopInstanceUid: string;
}
interface PydicomRead {
  studyInstanceUid: string;
  dlp?: number;
  dap?: number;
  fluoroTime?: number;
  agd: { left?: number; right?: number };
}

function generate(kind: 'ct' | 'projection' | 'mammo', seed: number, units: 'ucum' | 'vendor' = 'ucum', more: { patient?: string; studyUid?: string; extra?: string[] } = {}): Report {
  const file = path.join(dir, `${kind}-${seed}-${newUid().slice(-8)}.dcm`);
  const args = [path.join(FIXTURES, 'generate-rdsr.py'), '--kind', kind, '--out', file, '--events', '4', '--seed', String(seed), '--units', units];
  args.push('--patient-id', more.patient ?? patientId, '--study-uid', more.studyUid ?? newUid(), ...(more.extra ?? []));
  return JSON.parse(execFileSync(SYSTEM_PYTHON, args, { encoding: 'utf8' })) as Report;
}

function pydicomRead(reports: readonly Report[]): PydicomRead[] {
  return JSON.parse(execFileSync(SYSTEM_PYTHON, [path.join(FIXTURES, 'read-rdsr-doses.py'), ...reports.map((report) => report.file)], { encoding: 'utf8' })) as PydicomRead[];
}

const snapshots = new Map<string, StudyCompletedV1Data>();

/**
 * The study's snapshot as the ingest sends it: each report's content tree (SR_CONTENT_TAGS) read from
 * its file, one SR instance per report. The same event each time it is asked for (a re-delivery).
 */
async function snapshotOf(reports: readonly Report[], patient = patientId): Promise<StudyCompletedV1Data> {
  const key = reports.map((report) => report.file).join(',');
  const known = snapshots.get(key);
  if (known) {
    return known;
  }
  const instances = await Promise.all(
    reports.map(async (report) => {
      const { dataset } = await readPart10(report.file);
      const content: DicomJson = Object.fromEntries(SR_CONTENT_TAGS.filter((tag) => dataset[tag]).map((tag) => [tag, dataset[tag]!]));
      return { sopInstanceUid: report.sopInstanceUid, sopClassUid: '1.2.840.10008.5.1.4.1.1.88.67', transferSyntaxUid: '1.2.840.10008.1.2.1', attributes: {}, content };
    }),
  );
  const snapshot = studySnapshot({ studyInstanceUid: reports[0]!.studyInstanceUid, patient: { PatientID: attr('LO', patient) }, series: [{ instances: 1 }] });
  snapshot.series.push({ seriesInstanceUid: newUid(), attributes: { '00080060': { vr: 'CS', Value: ['SR'] } }, instances });
  snapshots.set(key, snapshot);
  return snapshot;
}

/** As a client finds it: the README's search. */
async function cumulativeOf(patient: string | undefined): Promise<Observation[]> {
  return fhir.search('Observation', { subject: `Patient/${patient}`, code: `${CUMULATIVE_DOSE_CODE.system}|${CUMULATIVE_DOSE_CODE.code}` });
}

function expected(reads: readonly PydicomRead[]) {
  const sum = (values: Array<number | undefined>) => values.reduce<number>((total, value) => total + (value ?? 0), 0);
  return {
    dlp: sum(reads.map((read) => read.dlp)),
    dap: sum(reads.map((read) => read.dap)),
    fluoroTime: sum(reads.map((read) => read.fluoroTime)),
    left: sum(reads.map((read) => read.agd.left)),
    right: sum(reads.map((read) => read.agd.right)),
  };
}

function quantity(observation: Observation, key: string): number | undefined {
  const component = observation.component?.find((item) => (item.code.text ?? item.code.coding?.[0]?.code) === key);
  return component?.valueQuantity?.value;
}

describe('the cumulative dose of a patient on a real FHIR server', () => {
  const ct = generate('ct', 11);
  const fluoro = generate('projection', 12, 'vendor');
  const mammo = generate('mammo', 13);
  let patient = '';

  it('two studies: one Observation with the sums a pydicom read of the reports gives, valid for the server', async () => {
    const first = await writer.publish(await snapshotOf([ct]));
    expect(first.cumulativeDose).toBe('created');
    expect(await writer.publish(await snapshotOf([fluoro]))).toMatchObject({ cumulativeDose: 'updated' });

    const [study] = await fhir.search('ImagingStudy', { identifier: `urn:dicom:uid|urn:oid:${ct.studyInstanceUid}` });
    patient = study!.subject!.reference!.replace('Patient/', '');
    const found = await cumulativeOf(patient);
    expect(found).toHaveLength(1);
    const observation = found[0]!;
    const want = expected(pydicomRead([ct, fluoro]));
    expect(want.dlp).toBeGreaterThan(0);
    expect(want.dap).toBeGreaterThan(0);
    expect(quantity(observation, '113813')).toBeCloseTo(want.dlp, 6);
    expect(quantity(observation, '113722')).toBeCloseTo(want.dap, 6);
    expect(quantity(observation, '113730')).toBeCloseTo(want.fluoroTime, 6);
    expect(observation.component?.map((component) => component.valueQuantity?.code)).toEqual(['mGy.cm', 'mGy.cm2', 's']);
    expect(observation.derivedFrom).toHaveLength(2);
    expect(observation.valueString).toMatch(/over 2 studies$/);
    expect(await validationErrors(observation)).toEqual([]);
  });

  it('the first study delivered again: nothing written, the same version', async () => {
    const [before] = await cumulativeOf(patient);
    expect(await writer.publish(await snapshotOf([ct]))).toMatchObject({ outcome: 'unchanged', cumulativeDose: 'unchanged' });
    const [after] = await cumulativeOf(patient);
    expect(after?.meta?.versionId).toBe(before?.meta?.versionId);
    expect(componentValues(after!)).toEqual(componentValues(before!));
  });

  it('a third study (mammography): the Observation is updated, the glandular dose per breast, never added across', async () => {
    const [before] = await cumulativeOf(patient);
    expect(await writer.publish(await snapshotOf([mammo]))).toMatchObject({ cumulativeDose: 'updated' });
    const found = await cumulativeOf(patient);
    expect(found).toHaveLength(1);
    const observation = found[0]!;
    expect(Number(observation.meta?.versionId)).toBe(Number(before?.meta?.versionId) + 1);
    const want = expected(pydicomRead([ct, fluoro, mammo]));
    expect(want.left).toBeGreaterThan(0);
    expect(want.right).toBeGreaterThan(0);
    expect(quantity(observation, 'Accumulated Average Glandular Dose, left breast')).toBeCloseTo(want.left, 6);
    expect(quantity(observation, 'Accumulated Average Glandular Dose, right breast')).toBeCloseTo(want.right, 6);
    expect(quantity(observation, '113813')).toBeCloseTo(want.dlp, 6);
    expect(observation.derivedFrom).toHaveLength(3);
    expect(await validationErrors(observation)).toEqual([]);
    // The per-breast components of the mammography summary are valid for the server too.
    const summaries = await fhir.search('Observation', { subject: `Patient/${patient}`, code: 'http://loinc.org|73569-6' });
    expect(summaries).toHaveLength(3);
    for (const summary of summaries) {
      expect(await validationErrors(summary)).toEqual([]);
    }
  });

  it('a study withdrawn (consent refused) no longer counts', async () => {
    const result = await writer.withdraw(fluoro.studyInstanceUid, `${PATIENT_SYSTEM}|${patientId}`);
    expect(result).toMatchObject({ deletedStudies: [expect.any(String)], cumulativeDose: 'updated' });
    const [observation] = await cumulativeOf(patient);
    const want = expected(pydicomRead([ct, mammo]));
    expect(componentValues(observation!)).not.toHaveProperty('113722');
    expect(componentValues(observation!)).not.toHaveProperty('113730');
    expect(quantity(observation!, '113813')).toBeCloseTo(want.dlp, 6);
    expect(observation!.derivedFrom).toHaveLength(2);
    // Withdrawn again (a sweep at the next start): nothing to change.
    expect(await writer.withdraw(fluoro.studyInstanceUid, `${PATIENT_SYSTEM}|${patientId}`)).toEqual({ deletedStudies: [], cumulativeDose: 'unchanged' });
  });

  it('every study withdrawn: the cumulative Observation is deleted', async () => {
    await writer.withdraw(ct.studyInstanceUid, `${PATIENT_SYSTEM}|${patientId}`);
    expect(await writer.withdraw(mammo.studyInstanceUid, `${PATIENT_SYSTEM}|${patientId}`)).toMatchObject({ cumulativeDose: 'deleted' });
    expect(await cumulativeOf(patient)).toEqual([]);
  });
});

const idOf = async (value: string): Promise<string> => (await fhir.search('Patient', { identifier: `${PATIENT_SYSTEM}|${value}` }))[0]!.id!;
/** The snapshot after rejection notes took back every instance it listed (IHE IOCM). */
const withoutSeries = (snapshot: StudyCompletedV1Data): StudyCompletedV1Data => ({
  ...snapshot,
  series: [],
  rejected: snapshot.series.flatMap((series) => series.instances.map((instance) => ({ sopInstanceUid: instance.sopInstanceUid, reason: '113039' }))),
});

describe('a study whose dose is split over several SR objects, on a real FHIR server', () => {
  const patient = `DOSE-SPLIT-${newUid().slice(-12)}`;
  const studyUid = newUid();
  const root = newUid();
  const split = (range: string | undefined) =>
    generate('ct', 21, 'ucum', { patient, studyUid, extra: ['--event-uid-root', root, ...(range ? ['--event-range', range] : [])] });
  const session1 = split('0:2');
  const session2 = split('2:4');
  const complete = split(undefined);

  it('two sessions, then the complete report: each irradiation event counted once, as pydicom reads the complete report', async () => {
    // The study as it grows: the sessions' reports first, then all three.
    expect(await writer.publish(await snapshotOf([session1, session2], patient))).toMatchObject({ cumulativeDose: 'created' });
    // Same sums, now derived from the complete report alone.
    expect(await writer.publish(await snapshotOf([session1, session2, complete], patient))).toMatchObject({ cumulativeDose: 'updated' });
    const [study] = await fhir.search('ImagingStudy', { identifier: `urn:dicom:uid|urn:oid:${studyUid}` });
    const [observation, ...others] = await cumulativeOf(study?.subject?.reference?.replace('Patient/', ''));
    expect(others).toEqual([]);
    const [one, two, all] = pydicomRead([session1, session2, complete]);
    expect(all!.dlp!).toBeCloseTo(one!.dlp! + two!.dlp!, 6);
    expect(quantity(observation!, '113813')).toBeCloseTo(all!.dlp!, 6);
    expect(observation!.valueString).toMatch(/over 1 study$/);
    // The complete report supersedes the sessions' (all its events are theirs): it alone is counted.
    expect(observation!.derivedFrom?.map((reference) => reference.identifier?.value)).toEqual([`urn:oid:${complete.sopInstanceUid}`]);
  });
});

describe('the cumulative dose when the step after the study\'s transaction fails once, then the event is handled again', () => {
  /** A client whose first cumulative-dose computation fails as a concurrent writer makes it (412), after the study's transaction went through. */
  function failingOnceOnCumulative(): typeof fhir {
    let failed = false;
    return {
      ...fhir,
      search: fhir.search.bind(fhir),
      transaction: fhir.transaction.bind(fhir),
      metadata: fhir.metadata.bind(fhir),
      changeMeta: fhir.changeMeta.bind(fhir),
      searchAll: ((type: Parameters<typeof fhir.searchAll>[0], params: Record<string, string>) => {
        if (!failed && params.code === 'http://loinc.org|73569-6') {
          failed = true;
          throw new FhirError('precondition failed (a concurrent writer)', 412);
        }
        return fhir.searchAll(type, params);
      }) as typeof fhir.searchAll,
    };
  }

  it.each([
    ['moved to the corrected patient: the patient it left no longer counts it', 'moved'],
    ['every instance rejected: the study removed no longer counts', 'removed'],
    ['its dose report rejected: the report no longer counts', 'report rejected'],
  ])('%s', async (_situation, change) => {
    const first = `RETRY-${newUid().slice(-10)}`;
    const report = generate('ct', 41, 'ucum', { patient: first });
    const snapshot = await snapshotOf([report], first);
    await writer.publish(snapshot);
    const patient = await idOf(first);
    expect(await cumulativeOf(patient)).toHaveLength(1);

    const corrected = `${first}-C`;
    const next =
      change === 'moved'
        ? { ...(await snapshotOf([generate('ct', 41, 'ucum', { patient: corrected, studyUid: report.studyInstanceUid, extra: ['--sop-uid', report.sopInstanceUid] })], corrected)), lastReceivedAt: '2024-01-06T10:00:00.000Z' }
        : change === 'removed'
          ? withoutSeries(snapshot)
          : { ...snapshot, series: snapshot.series.slice(0, 1), rejected: [{ sopInstanceUid: report.sopInstanceUid, reason: '113038' }] };
    await expect(indexWriter(failingOnceOnCumulative(), { defaultPatientIdSystem: PATIENT_SYSTEM }).publish(next)).rejects.toThrow(/a concurrent writer/);
    await writer.publish(next);
    expect(await cumulativeOf(patient)).toEqual([]);
    if (change === 'moved') {
      expect(await cumulativeOf(await idOf(corrected))).toHaveLength(1);
      const [study] = await fhir.search('ImagingStudy', { identifier: `urn:dicom:uid|urn:oid:${report.studyInstanceUid}` });
      expect(study?.meta?.tag ?? []).toEqual([]);
    }
  });

  it('a study moved to the corrected patient, then removed by a node that still names the old one: the handling again after a failed recount counts the corrected patient\'s dose again (named on the record until done)', async () => {
    const first = `RETRY-${newUid().slice(-10)}`;
    const report = generate('ct', 43, 'ucum', { patient: first });
    const snapshot = await snapshotOf([report], first);
    await writer.publish(snapshot);
    const corrected = `${first}-C`;
    const moved = await snapshotOf([generate('ct', 43, 'ucum', { patient: corrected, studyUid: report.studyInstanceUid, extra: ['--sop-uid', report.sopInstanceUid] })], corrected);
    await writer.publish({ ...moved, lastReceivedAt: '2024-01-06T10:00:00.000Z' });
    const patient = await idOf(corrected);
    expect(await cumulativeOf(patient)).toHaveLength(1);
    // A node that never had the correction takes every image of the study back (wrong worklist entry), under the old Patient ID.
    const removal = { ...withoutSeries(snapshot), rejected: [...withoutSeries(snapshot).rejected!, ...withoutSeries(moved).rejected!], lastReceivedAt: '2024-01-06T11:00:00.000Z' };
    await expect(indexWriter(failingOnceOnCumulative(), { defaultPatientIdSystem: PATIENT_SYSTEM }).publish(removal)).rejects.toThrow(/a concurrent writer/);
    expect(await cumulativeOf(patient)).toHaveLength(1);
    await writer.publish(removal);
    expect(await cumulativeOf(patient)).toEqual([]);
    const [record] = await fhir.search('Basic', { identifier: `urn:oid:${report.studyInstanceUid}` });
    expect(record?.meta?.tag ?? []).toEqual([]);
  });

  it('every instance rejected over two nodes\' notes: the handling again of the snapshot that removed the study, which still lists an image the study remembered as rejected, still counts the patient\'s dose again', async () => {
    const first = `RETRY-${newUid().slice(-10)}`;
    const report = generate('ct', 42, 'ucum', { patient: first });
    const snapshot = await snapshotOf([report], first);
    const [images, reports] = snapshot.series as [StudySeries, StudySeries];
    await writer.publish(snapshot);
    const patient = await idOf(first);
    // One node's note rejects the image: the study remembers it, the report still counts.
    await writer.publish({ ...snapshot, series: [reports], rejected: [{ sopInstanceUid: images.instances[0]!.sopInstanceUid, reason: '113001' }] });
    expect(await cumulativeOf(patient)).toHaveLength(1);
    // Another node holds both and a note for the report only: the image it lists is remembered as rejected, so nothing is left.
    const next = { ...snapshot, series: [images], rejected: [{ sopInstanceUid: report.sopInstanceUid, reason: '113038' }], lastReceivedAt: '2024-01-06T10:00:00.000Z' };
    await expect(indexWriter(failingOnceOnCumulative(), { defaultPatientIdSystem: PATIENT_SYSTEM }).publish(next)).rejects.toThrow(/a concurrent writer/);
    expect(await writer.publish(next)).toMatchObject({ everyInstanceRejected: true });
    expect(await cumulativeOf(patient)).toEqual([]);
  });
});

describe('an irradiation event that two studies report (the same report filed under both), on a real FHIR server', () => {
  /** The study's id on the server, as a client finds it. */
  const studyId = async (uid: string): Promise<string> => (await fhir.search('ImagingStudy', { identifier: `urn:dicom:uid|urn:oid:${uid}` }))[0]!.id!;

  it.each([
    ['the study that wrote the events last is withdrawn (consent refused)', 'withdrawn'],
    ['every instance of the study that wrote the events last is rejected', 'rejected'],
  ])('%s: the other study keeps its events, which now belong to it; the cumulative dose counts them once', async (_situation, change) => {
    const patient = `DOSE-SHARED-${newUid().slice(-10)}`;
    const root = newUid();
    const [kept, gone] = [0, 1].map(() => generate('ct', 51, 'ucum', { patient, extra: ['--event-uid-root', root] })) as [Report, Report];
    await writer.publish(await snapshotOf([kept], patient));
    const goneSnapshot = await snapshotOf([gone], patient);
    await writer.publish(goneSnapshot);
    const [keptId, goneId] = [await studyId(kept.studyInstanceUid), await studyId(gone.studyInstanceUid)];
    // The events were written last by the second study: they are part of it.
    expect((await fhir.search('Observation', { 'part-of': `ImagingStudy/${goneId}`, code: `${IRRADIATION_EVENT_CODE.system}|${IRRADIATION_EVENT_CODE.code}` })).length).toBeGreaterThan(0);

    if (change === 'withdrawn') {
      await writer.withdraw(gone.studyInstanceUid, `${PATIENT_SYSTEM}|${patient}`);
    } else {
      await writer.publish(withoutSeries(goneSnapshot));
    }

    expect((await fetch(`${baseUrl}/ImagingStudy/${goneId}`)).status).toBe(410);
    expect(await fhir.search('Observation', { 'part-of': `ImagingStudy/${goneId}` })).toEqual([]);
    const [summary] = await fhir.search('Observation', { 'part-of': `ImagingStudy/${keptId}`, identifier: `urn:dicom:uid|urn:oid:${kept.sopInstanceUid}` });
    expect(summary?.hasMember).toHaveLength(4);
    for (const member of summary!.hasMember!) {
      const response = await fetch(`${baseUrl}/${member.reference}`, { headers: { accept: 'application/fhir+json' } });
      expect({ member: member.reference, status: response.status }).toEqual({ member: member.reference, status: 200 });
      const event = (await response.json()) as Observation;
      expect({ partOf: event.partOf?.map((item) => item.reference), focus: event.focus?.map((item) => item.reference) }).toEqual({
        partOf: [`ImagingStudy/${keptId}`],
        focus: [`ImagingStudy/${keptId}`],
      });
    }
    const [cumulative, ...others] = await cumulativeOf(await idOf(patient));
    expect(others).toEqual([]);
    expect(quantity(cumulative!, '113813')).toBeCloseTo(pydicomRead([kept])[0]!.dlp!, 6);
    expect(cumulative!.derivedFrom?.map((reference) => reference.identifier?.value)).toEqual([`urn:oid:${kept.sopInstanceUid}`]);
  });
});

describe('an irradiation event re-pointed to a study that another writer deletes meanwhile, on a real FHIR server', () => {
  const withReport = (patient: string, eventUids: string[]): StudyCompletedV1Data => {
    const snapshot = studySnapshot({ patient: { PatientID: attr('LO', patient) }, series: [{ instances: 1 }] });
    snapshot.series.push({
      seriesInstanceUid: newUid(),
      attributes: { '00080060': { vr: 'CS', Value: ['SR'] } },
      instances: [{ sopInstanceUid: newUid(), sopClassUid: '1.2.840.10008.5.1.4.1.1.88.67', transferSyntaxUid: '1.2.840.10008.1.2.1', attributes: {}, content: ctReport(eventUids.map((uid, index) => ({ uid, ctdivol: 10 + index, dlp: 300 + index }))) }],
    });
    return snapshot;
  };

  it('the withdrawal fails with an error the consumer retries (HAPI-1096), and its retry withdraws the study', async () => {
    const events = [newUid(), newUid()];
    const other = withReport(`RACE-B-${newUid().slice(-8)}`, events);
    const withdrawn = withReport(`RACE-A-${newUid().slice(-8)}`, events);
    await writer.publish(other);
    await writer.publish(withdrawn);
    // Between the withdrawal's reads and its transaction, the other study is withdrawn (another patient: no shared lock).
    let raced = false;
    const racing: typeof fhir = {
      ...fhir,
      transaction: async (bundle) => {
        if (!raced) {
          raced = true;
          await writer.withdraw(other.studyInstanceUid);
        }
        return fhir.transaction(bundle);
      },
    };
    const failure = await indexWriter(racing, { defaultPatientIdSystem: PATIENT_SYSTEM }).withdraw(withdrawn.studyInstanceUid).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(FhirError);
    expect({ status: (failure as FhirError).status, retryable: isRetryableFhirError(failure) }).toEqual({ status: 400, retryable: true });
    expect(await writer.withdraw(withdrawn.studyInstanceUid)).toMatchObject({ deletedStudies: [expect.any(String)] });
    expect(await fhir.search('ImagingStudy', { identifier: `urn:dicom:uid|urn:oid:${withdrawn.studyInstanceUid}` })).toEqual([]);
  });
});

describe('a study with more dose Observations than a page of the server holds (HAPI: 50), on a real FHIR server', () => {
  const all = async (params: Record<string, string>): Promise<Observation[]> => {
    const found: Observation[] = [];
    for await (const observation of fhir.searchAll('Observation', params)) found.push(observation);
    return found;
  };

  it.each([
    ['withdrawn (consent refused)', 'withdrawn'],
    ['its report rejected at the source (IHE IOCM)', 'rejected'],
  ])('a report of 60 irradiation events, %s: every one of its Observations goes', async (_situation, change) => {
    const patient = `DOSE-MANY-${newUid().slice(-10)}`;
    const report = generate('ct', 71, 'ucum', { patient, extra: ['--events', '60'] });
    const snapshot = await snapshotOf([report], patient);
    await writer.publish(snapshot);
    const [study] = await fhir.search('ImagingStudy', { identifier: `urn:dicom:uid|urn:oid:${report.studyInstanceUid}` });
    expect(await all({ 'part-of': `ImagingStudy/${study!.id}` })).toHaveLength(61);

    if (change === 'withdrawn') {
      await writer.withdraw(report.studyInstanceUid, `${PATIENT_SYSTEM}|${patient}`);
    } else {
      await writer.publish({ ...snapshot, series: snapshot.series.slice(0, 1), rejected: [{ sopInstanceUid: report.sopInstanceUid, reason: '113038' }] });
    }
    expect(await all({ 'part-of': `ImagingStudy/${study!.id}` })).toEqual([]);
    expect(await all({ subject: study!.subject!.reference!, code: `${IRRADIATION_EVENT_CODE.system}|${IRRADIATION_EVENT_CODE.code}` })).toEqual([]);
  });
});

describe('a study held by two nodes, its Patient ID corrected at one of them, on a real FHIR server', () => {
  const nodeOf = (name: string): NodeSettings => ({ ...DEFAULT_NODE_SETTINGS, nodeUid: `1.2.826.0.1.3680043.10.998.${newUid().slice(-8)}`, nodeName: name, dicomWebBaseUrl: `http://${name}:8010/dicomweb` });
  const [nodeA, nodeB] = [nodeOf('node-a'), nodeOf('node-b')];
  const writerOf = (node: NodeSettings) => indexWriter(fhir, { defaultPatientIdSystem: PATIENT_SYSTEM, node });

  it('a rejection note at one node, and any node\'s later snapshot, leave alone the dose report only another node holds', async () => {
    const patient = `TWO-NODES-DOSE-${newUid().slice(-10)}`;
    const studyUid = newUid();
    const images = (suffix: string): StudyCompletedV1Data => {
      const snapshot = studySnapshot({ studyInstanceUid: studyUid, patient: { PatientID: attr('LO', patient) }, series: [{ instances: 2 }] });
      return { ...snapshot, series: snapshot.series.map((series) => ({ ...series, seriesInstanceUid: `${series.seriesInstanceUid}.${suffix}` })) };
    };
    // Node B holds images and the dose report.
    const heldByB = images('2');
    heldByB.series.push({
      seriesInstanceUid: newUid(),
      attributes: { '00080060': { vr: 'CS', Value: ['SR'] } },
      instances: [{ sopInstanceUid: newUid(), sopClassUid: '1.2.840.10008.5.1.4.1.1.88.67', transferSyntaxUid: '1.2.840.10008.1.2.1', attributes: {}, content: ctReport([{ uid: newUid(), ctdivol: 12.5, dlp: 375.25 }, { uid: newUid(), ctdivol: 8.1, dlp: 243 }]) }],
    });
    const nodeC = nodeOf('node-c');
    await writerOf(nodeB).publish(heldByB);
    const [study] = await fhir.search('ImagingStudy', { identifier: `urn:dicom:uid|urn:oid:${studyUid}` });
    const dose = async () => (await fhir.search('Observation', { 'part-of': `ImagingStudy/${study!.id}` })).map((observation) => observation.id).sort();
    const before = await dose();
    expect(before).toHaveLength(3);
    const sums = async () => (await cumulativeOf(await idOf(patient))).map((observation) => quantity(observation, '113813'));
    expect(await sums()).toEqual([618.25]);

    // Node A rejects one of its own images (quality): nothing to do with the dose report.
    const atA = images('1');
    const [rejected, ...kept] = atA.series[0]!.instances;
    await writerOf(nodeA).publish({ ...atA, series: [{ ...atA.series[0]!, instances: kept }], rejected: [{ sopInstanceUid: rejected!.sopInstanceUid, reason: '113001' }] });
    // Node C, images only and no note: the study remembers the rejection, its snapshot is read without it.
    await writerOf(nodeC).publish(images('3'));

    expect(await dose()).toEqual(before);
    expect(await sums()).toEqual([618.25]);
  });

  it('the study moves with the other node\'s manifest and the dose of the report only the other node holds; each patient\'s cumulative dose follows', async () => {
    const first = `TWO-NODES-${newUid().slice(-10)}`;
    const corrected = `${first}-C`;
    const report = generate('ct', 61, 'ucum', { patient: first });
    // Node B holds the dose report; node A holds the images, and gets the correction.
    const heldByB = { ...(await snapshotOf([report], first)), manifest: manifestOf(report.studyInstanceUid, { sopInstanceUid: newUid(), createdAt: '2024-01-05T12:00:00.000Z' }) };
    const imagesOf = (patient: string, lastReceivedAt: string): StudyCompletedV1Data => ({
      ...studySnapshot({ studyInstanceUid: report.studyInstanceUid, patient: { PatientID: attr('LO', patient) }, series: [{ instances: 2 }] }),
      lastReceivedAt,
      manifest: manifestOf(report.studyInstanceUid, { sopInstanceUid: newUid(), createdAt: lastReceivedAt }),
    });
    await writerOf(nodeA).publish(imagesOf(first, '2024-01-05T10:20:00.000Z'));
    await writerOf(nodeB).publish(heldByB);
    const [oldPatient] = [await idOf(first)];
    expect(await cumulativeOf(oldPatient)).toHaveLength(1);

    await writerOf(nodeA).publish(imagesOf(corrected, '2024-01-06T09:00:00.000Z'));

    const newPatient = await idOf(corrected);
    const [study] = await fhir.search('ImagingStudy', { identifier: `urn:dicom:uid|urn:oid:${report.studyInstanceUid}` });
    expect(study?.subject?.reference).toBe(`Patient/${newPatient}`);
    const documents = await fhir.search('DocumentReference', { related: `ImagingStudy/${study!.id}` });
    expect(documents.map((document) => [document.content[0]?.attachment.url?.split('/')[2], document.subject?.reference]).sort()).toEqual([
      ['node-a:8010', `Patient/${newPatient}`],
      ['node-b:8010', `Patient/${newPatient}`],
    ]);
    const dose = await fhir.search('Observation', { 'part-of': `ImagingStudy/${study!.id}`, _count: '50' });
    expect(dose.length).toBeGreaterThan(1);
    expect([...new Set(dose.map((observation) => observation.subject?.reference))]).toEqual([`Patient/${newPatient}`]);
    // As a client finds them: nothing of the study left under the patient it was wrongly filed under.
    expect(await fhir.search('DocumentReference', { subject: `Patient/${oldPatient}` })).toEqual([]);
    expect(await fhir.search('Observation', { subject: `Patient/${oldPatient}` })).toEqual([]);
    const [cumulative, ...others] = await cumulativeOf(newPatient);
    expect(others).toEqual([]);
    expect(quantity(cumulative!, '113813')).toBeCloseTo(pydicomRead([report])[0]!.dlp!, 6);
  });
});
