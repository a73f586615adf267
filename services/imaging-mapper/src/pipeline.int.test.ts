import type { Endpoint, ImagingStudy } from '@medplum/fhirtypes';
import { retry } from '@imaging-facade/service-kit';
import { DEFAULT_NODE_SETTINGS } from './node-settings';
import { createFhirClient, dicomUidIdentifier as studyIdentifier, FhirError, isRetryableFhirError } from '@imaging-facade/fhir';
import { UnprocessableStudyError } from './errors';
import { mergeImagingStudy } from './fhir/merge';
import { mapStudySnapshot } from './pipeline';
import { fhirServer } from './test-support/fhir-server';
import { attr, newUid, studySnapshot, withSeries } from './test-support/study-events';
import { imagingStudyEntry, transactionBundle, type StoredVersion } from './fhir/transaction';

/** Against a real HAPI FHIR server (FHIR_BASE_URL), each test with its own patient and study. */
const baseUrl = process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';
const fhir = createFhirClient({ baseUrl, timeoutMs: 30_000 });
const { studiesByUid, patientsByIdentifier, patient: readPatient, validationErrors } = fhirServer(fhir);
const settings = { defaultPatientIdSystem: 'https://imagingfacade.org/fhir/sid/patient-id/int-test' };

const uniquePatientId = () => `MAPPER-INT-${newUid().slice(-12)}`;

function snapshotFor(patientId: string, seriesCount = 2) {
  return studySnapshot({
    patient: { PatientID: attr('LO', patientId) },
    series: Array.from({ length: seriesCount }, (_, index) => ({ modality: index === 0 ? 'CT' : 'SR', instances: 2 })),
  });
}

const version = (study: ImagingStudy): StoredVersion => ({ id: study.id!, versionId: study.meta!.versionId! });

async function onlyStudy(studyInstanceUid: string): Promise<ImagingStudy> {
  const studies = await studiesByUid(studyInstanceUid);
  expect(studies).toHaveLength(1);
  return studies[0]!;
}

describe('the mapper against a real FHIR server', () => {
  it('when the same snapshot is applied twice, there is one ImagingStudy and one Patient, and the version stays', async () => {
    const patientId = uniquePatientId();
    const snapshot = snapshotFor(patientId);

    expect(await mapStudySnapshot(snapshot, fhir, settings)).toMatchObject({ outcome: 'created', patient: 'created' });
    const first = await onlyStudy(snapshot.studyInstanceUid);
    expect(await mapStudySnapshot(snapshot, fhir, settings)).toMatchObject({ outcome: 'unchanged', patient: 'kept' });

    const second = await onlyStudy(snapshot.studyInstanceUid);
    expect(second.id).toBe(first.id);
    expect(second.meta?.versionId).toBe(first.meta?.versionId);
    expect(await patientsByIdentifier(patientId)).toHaveLength(1);
    expect(second.subject?.reference).toMatch(/^Patient\/[^/]+$/);
  });

  it('when a late series arrives, the same ImagingStudy is updated, not duplicated', async () => {
    const snapshot = snapshotFor(uniquePatientId(), 2);
    await mapStudySnapshot(withSeries(snapshot, 1), fhir, settings);
    const before = await onlyStudy(snapshot.studyInstanceUid);
    expect(before.numberOfSeries).toBe(1);

    expect(await mapStudySnapshot(snapshot, fhir, settings)).toMatchObject({ outcome: 'updated', numberOfSeries: 2 });

    const after = await onlyStudy(snapshot.studyInstanceUid);
    expect(after.id).toBe(before.id);
    expect(after.numberOfSeries).toBe(2);
    expect(after.numberOfInstances).toBe(4);
    expect(after.modality?.map((coding) => coding.code)).toEqual(['CT', 'SR']);
    expect(Number(after.meta?.versionId)).toBe(Number(before.meta?.versionId) + 1);
  });

  it('when an older snapshot arrives after a newer one, nothing changes', async () => {
    const snapshot = snapshotFor(uniquePatientId(), 2);
    await mapStudySnapshot(snapshot, fhir, settings);
    const newer = await onlyStudy(snapshot.studyInstanceUid);

    expect(await mapStudySnapshot(withSeries(snapshot, 1), fhir, settings)).toMatchObject({ outcome: 'unchanged' });

    const after = await onlyStudy(snapshot.studyInstanceUid);
    expect(after.meta?.versionId).toBe(newer.meta?.versionId);
    expect(after.numberOfSeries).toBe(2);
  });

  it('when an instance is sent again under another series, the ImagingStudy lists it once, in that series', async () => {
    const snapshot = snapshotFor(uniquePatientId(), 2);
    await mapStudySnapshot(snapshot, fhir, settings);
    const corrected = structuredClone(snapshot);
    const moved = corrected.series[0]!.instances.shift()!;
    corrected.series[1]!.instances.push(moved);
    corrected.lastReceivedAt = new Date(Date.parse(snapshot.lastReceivedAt) + 60_000).toISOString();

    expect(await mapStudySnapshot(corrected, fhir, settings)).toMatchObject({ outcome: 'updated', numberOfSeries: 2, numberOfInstances: 4 });

    const listed = (await onlyStudy(snapshot.studyInstanceUid)).series!.map((series) => [series.uid, series.instance!.map((instance) => instance.uid)]);
    expect(listed.filter(([, uids]) => (uids as string[]).includes(moved.sopInstanceUid))).toEqual([[corrected.series[1]!.seriesInstanceUid, expect.arrayContaining([moved.sopInstanceUid])]]);
  });

  it('when the merged study is written anyway, the server sees no change and keeps the version', async () => {
    const snapshot = snapshotFor(uniquePatientId(), 2);
    await mapStudySnapshot(snapshot, fhir, settings);
    const stored = await onlyStudy(snapshot.studyInstanceUid);

    const merged = mergeImagingStudy(stored, mergeImagingStudy(undefined, { ...stored }));
    await fhir.transaction(
      transactionBundle([imagingStudyEntry(merged, studyIdentifier(snapshot.studyInstanceUid), version(stored))]),
    );

    expect((await onlyStudy(snapshot.studyInstanceUid)).meta?.versionId).toBe(stored.meta?.versionId);
  });

  it('when someone else wrote the study since it was read, the stale write fails with a retryable conflict', async () => {
    const snapshot = snapshotFor(uniquePatientId(), 1);
    await mapStudySnapshot(snapshot, fhir, settings);
    const stored = await onlyStudy(snapshot.studyInstanceUid);
    const identifier = studyIdentifier(snapshot.studyInstanceUid);
    await fhir.transaction(
      transactionBundle([
        imagingStudyEntry({ ...stored, description: 'concurrent writer' }, identifier, version(stored)),
      ]),
    );

    const stale = fhir.transaction(
      transactionBundle([imagingStudyEntry({ ...stored, description: 'late writer' }, identifier, version(stored))]),
    );

    const error = await stale.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(FhirError);
    expect([409, 412]).toContain((error as FhirError).status); // HAPI answers 409, the spec says 412
    expect(isRetryableFhirError(error)).toBe(true);
    expect((await onlyStudy(snapshot.studyInstanceUid)).description).toBe('concurrent writer');
  });

  it('when another writer creates the study between the read and the write, nothing is lost: a retry merges', async () => {
    const snapshot = snapshotFor(uniquePatientId(), 2);
    const racing: typeof fhir = {
      ...fhir,
      transaction: async (bundle) => {
        await mapStudySnapshot(withSeries(snapshot, 1), fhir, settings); // the other writer wins the race
        return fhir.transaction(bundle);
      },
    };
    const other = { ...snapshot, series: snapshot.series.slice(1) };

    const error = await mapStudySnapshot(other, racing, settings).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(isRetryableFhirError(error)).toBe(true);
    expect((await onlyStudy(snapshot.studyInstanceUid)).numberOfSeries).toBe(1);

    expect(await mapStudySnapshot(other, fhir, settings)).toMatchObject({ outcome: 'updated', numberOfSeries: 2 });
    expect((await onlyStudy(snapshot.studyInstanceUid)).numberOfSeries).toBe(2);
  });

  it('when studies of several patients are written at once by a new node, every study is indexed and the node has one Endpoint', async () => {
    // As the consumer does with the topic's partitions side by side: each study retried on a retryable failure.
    const node = { ...DEFAULT_NODE_SETTINGS, nodeUid: newUid() };
    const snapshots = [snapshotFor(uniquePatientId()), snapshotFor(uniquePatientId()), snapshotFor(uniquePatientId())];
    await Promise.all(
      snapshots.map((snapshot) =>
        retry(() => mapStudySnapshot(snapshot, fhir, { ...settings, node }), {
          isRetryable: isRetryableFhirError,
          initialMs: 50,
          maxMs: 500,
          attempts: 10,
        }),
      ),
    );

    const endpoints: Endpoint[] = await fhir.search('Endpoint', { identifier: `urn:ietf:rfc:3986|urn:oid:${node.nodeUid}` });
    expect(endpoints).toHaveLength(1);
    for (const snapshot of snapshots) {
      expect((await onlyStudy(snapshot.studyInstanceUid)).endpoint?.[0]?.reference).toBe(`Endpoint/${endpoints[0]!.id}`);
    }
  });

  it('when the Patient already exists, the study references it and the Patient is not overwritten', async () => {
    const patientId = uniquePatientId();
    const created = (
      await fhir.transaction(
        transactionBundle([
          {
            resource: {
              resourceType: 'Patient',
              identifier: [{ system: settings.defaultPatientIdSystem, value: patientId }],
              name: [{ family: 'FromTheMPI' }],
            },
            request: { method: 'POST', url: 'Patient' },
          },
        ]),
      )
    ).entry?.[0]?.response?.location;
    const patientReference = created?.replace(/\/_history\/.*$/, '');

    const snapshot = snapshotFor(patientId, 1);
    expect(await mapStudySnapshot(snapshot, fhir, settings)).toMatchObject({ outcome: 'created', patient: 'existing' });

    expect((await onlyStudy(snapshot.studyInstanceUid)).subject?.reference).toBe(patientReference);
    const patient = await readPatient(patientReference!);
    expect(patient.name).toEqual([{ family: 'FromTheMPI' }]);
    expect(patient.meta?.versionId).toBe('1');
  });

  it('when PatientID holds search separators and spaces, the Patient is still found again, not duplicated', async () => {
    const patientId = `A|B,C$D\\E F&G=${newUid().slice(-8)}`;
    const first = snapshotFor(patientId, 1);
    const second = snapshotFor(patientId, 1);

    await mapStudySnapshot(first, fhir, settings);
    expect(await mapStudySnapshot(second, fhir, settings)).toMatchObject({ outcome: 'created', patient: 'existing' });

    const subjects = [
      (await onlyStudy(first.studyInstanceUid)).subject,
      (await onlyStudy(second.studyInstanceUid)).subject,
    ];
    expect(subjects[0]).toEqual(subjects[1]);
    const patient = await readPatient(subjects[0]!.reference!);
    expect(patient.identifier).toEqual([{ system: settings.defaultPatientIdSystem, value: patientId }]);
  });

  it('when the study has no PatientID, nothing is written and the failure is permanent', async () => {
    const snapshot = studySnapshot({ patient: { PatientID: attr('LO') }, series: [{ instances: 1 }] });

    const error = await mapStudySnapshot(snapshot, fhir, settings).then(
      () => undefined,
      (failure: unknown) => failure,
    );

    expect(error).toBeInstanceOf(UnprocessableStudyError);
    expect(isRetryableFhirError(error)).toBe(false);
    expect(await studiesByUid(snapshot.studyInstanceUid)).toHaveLength(0);
  });

  it('the published ImagingStudy and Patient pass the server’s own $validate', async () => {
    const snapshot = studySnapshot({
      patient: {
        PatientID: attr('LO', uniquePatientId()),
        IssuerOfPatientID: attr('LO', '1.2.840.99999.1'),
        PatientName: attr('PN', {
          Alphabetic: 'Yamada^Tarou^^Mr.',
          Ideographic: '山田^太郎',
          Phonetic: 'やまだ^たろう',
        }),
        StudyTime: attr('TM', '101530.25'),
        TimezoneOffsetFromUTC: attr('SH', '+0900'),
      },
      series: [
        { modality: 'CT', instances: 2 },
        { modality: 'SR', instances: 1, sopClassUid: '1.2.840.10008.5.1.4.1.1.88.22' },
      ],
    });
    await mapStudySnapshot(snapshot, fhir, settings);
    const study = await onlyStudy(snapshot.studyInstanceUid);
    const patient = await readPatient(study.subject!.reference!);

    expect(study.started).toBe('2024-01-05T10:15:30.25+09:00');
    expect(await validationErrors(study)).toEqual([]);
    expect(await validationErrors(patient)).toEqual([]);
  });
});
