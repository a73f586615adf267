import type {
  Basic,
  Bundle,
  BundleEntry,
  DocumentReference,
  Endpoint,
  ExtractResource,
  ImagingStudy,
  Observation,
  Patient,
  ResourceType,
} from '@medplum/fhirtypes';
import type { StudySeries } from '@imaging-facade/events';
import { isRetryableFhirError } from '@imaging-facade/fhir';
import { UnprocessableStudyError } from './errors';
import type { FhirPort } from './fhir/fhir-lookups';
import { fakeFhirPort } from './test-support/fake-fhir-port';
import { REJECTED_INSTANCE_URL, rememberedRejections, withRejections } from './fhir/rejected-instances';
import { imagingStudyFromSnapshot } from './mapping/imaging-study-mapping';
import { mergeImagingStudy } from './fhir/merge';
import { DEFAULT_NODE_SETTINGS } from './node-settings';
import { mapStudySnapshot } from './pipeline';
import { ctReport, manifestOf } from './test-support/dose-content';
import { attr, studySnapshot, withSeries } from './test-support/study-events';
import { validateR4 } from './test-support/fhir-validation';

const settings = { defaultPatientIdSystem: 'https://hospital.example/mrn' };

type Found = {
  /** A list answers every search of its type; a function answers by the search's parameters. */
  Patient?: Patient[] | ((params: Record<string, string>) => Patient[]);
  ImagingStudy?: ImagingStudy[] | ((params: Record<string, string>) => ImagingStudy[]);
  DocumentReference?: DocumentReference[] | ((params: Record<string, string>) => DocumentReference[]);
  Observation?: Observation[] | ((params: Record<string, string>) => Observation[]);
  Basic?: Basic[] | ((params: Record<string, string>) => Basic[]);
};

/** A FHIR port that answers searches from fixed lists and records the transactions. */
function fakeFhir(found: Found = {}, status = '201 Created') {
  const transactions: Bundle[] = [];
  const searches: Array<[string, Record<string, string>]> = [];
  const port: FhirPort = fakeFhirPort({
    search: async <K extends ResourceType>(resourceType: K, params: Record<string, string>) => {
      searches.push([resourceType, params]);
      const answer = (found as Record<string, unknown[] | ((params: Record<string, string>) => unknown[])>)[resourceType] ?? [];
      return (typeof answer === 'function' ? answer(params) : answer) as ExtractResource<K>[];
    },
    transaction: async (bundle) => {
      transactions.push(bundle);
      return {
        resourceType: 'Bundle',
        type: 'transaction-response',
        entry: (bundle.entry ?? []).map(() => ({ response: { status } })),
      };
    },
  });
  return { port, transactions, searches };
}

const snapshot = studySnapshot({ series: [{ instances: 2 }, { instances: 1 }] });
const entries = (bundle: Bundle | undefined): BundleEntry[] => bundle?.entry ?? [];

describe('one transaction per snapshot', () => {
  it('when neither study nor patient exists, creates both, the study pointing at the new Patient', async () => {
    const fhir = fakeFhir();
    const result = await mapStudySnapshot(snapshot, fhir.port, settings);

    expect(result).toEqual({
      outcome: 'created',
      patient: 'created',
      numberOfSeries: 2,
      numberOfInstances: 3,
      skipped: [],
      derived: { documentReference: 'none', observations: 0, notes: [] },
    });
    const [patientEntry, endpointEntry, studyEntry] = entries(fhir.transactions[0]);
    expect(patientEntry?.request?.ifNoneExist).toBe('identifier=https%3A%2F%2Fhospital.example%2Fmrn%7CPID-0001');
    expect(endpointEntry?.resource?.resourceType).toBe('Endpoint');
    expect((studyEntry?.resource as ImagingStudy).subject).toEqual({ reference: patientEntry?.fullUrl });
    expect(validateR4(patientEntry!.resource!)).toEqual([]);
    expect(fhir.searches).toEqual([
      ['ImagingStudy', { identifier: `urn:dicom:uid|urn:oid:${snapshot.studyInstanceUid}`, _count: '2' }],
      // The record of a study that left the index with rejected instances (rejected-study-record.ts),
      // read before, and again once the study is created (another node's mapper may have written one).
      ['Basic', { identifier: `urn:dicom:uid|urn:oid:${snapshot.studyInstanceUid}`, code: 'https://imagingfacade.org/fhir/CodeSystem/index-record|rejected-study', _count: '10' }],
      ['Patient', { identifier: 'https://hospital.example/mrn|PID-0001', _count: '2' }],
      ['Basic', { identifier: `urn:dicom:uid|urn:oid:${snapshot.studyInstanceUid}`, code: 'https://imagingfacade.org/fhir/CodeSystem/index-record|rejected-study', _count: '10' }],
    ]);
  });

  it('when the Patient exists, references it and does not write it', async () => {
    const fhir = fakeFhir({ Patient: [{ resourceType: 'Patient', id: 'p1' }] });
    expect(await mapStudySnapshot(snapshot, fhir.port, settings)).toMatchObject({ patient: 'existing' });
    const written = entries(fhir.transactions[0]);
    expect(written.map((entry) => entry.resource?.resourceType)).toEqual(['Endpoint', 'ImagingStudy']);
    expect((written[1]?.resource as ImagingStudy).subject).toEqual({ reference: 'Patient/p1' });
  });

  it('when the study is stored and the snapshot adds nothing, writes nothing and looks up no Patient by identifier', async () => {
    const stored = { ...stripped(), id: 's1', meta: { versionId: '4' }, subject: { reference: 'Patient/p1' } };
    const fhir = fakeFhir({ ImagingStudy: [stored] });
    expect(await mapStudySnapshot(withSeries(snapshot, 1), fhir.port, settings)).toMatchObject({
      outcome: 'unchanged',
      patient: 'kept',
    });
    expect(fhir.transactions).toEqual([]);
    // Its subject is read to see whether the snapshot's issuer still names it (subject-correction.ts).
    expect(fhir.searches).toEqual([
      ['ImagingStudy', { identifier: `urn:dicom:uid|urn:oid:${snapshot.studyInstanceUid}`, _count: '2' }],
      ['Basic', { identifier: `urn:dicom:uid|urn:oid:${snapshot.studyInstanceUid}`, code: 'https://imagingfacade.org/fhir/CodeSystem/index-record|rejected-study', _count: '10' }],
      ['Patient', { _id: 'p1' }],
    ]);
  });

  const MRN = settings.defaultPatientIdSystem;
  const patients = (...stored: Patient[]) => (params: Record<string, string>): Patient[] =>
    stored.filter((patient) => params._id === patient.id || patient.identifier?.some((identifier) => params.identifier === `${identifier.system}|${identifier.value}`));

  it.each([
    ['another Patient holds the new identifier: the study, its manifest and its dose move to it', [{ resourceType: 'Patient', id: 'p2', identifier: [{ system: MRN, value: 'PID-0001' }] } as Patient], 'Patient/p2', 'moved'],
    ['no Patient holds it: one is created, and the study moves to it', [], 'urn:uuid', 'moved'],
  ])('when the snapshot\'s issuer names another patient than the stored subject (a patient update at the source) and %s', async (_situation, others, subject, patient) => {
    const stored = { ...stripped(withSeries(snapshot, 1)), id: 's1', meta: { versionId: '4' }, subject: { reference: 'Patient/p1' } };
    const fhir = fakeFhir({ ImagingStudy: [stored], Patient: patients({ resourceType: 'Patient', id: 'p1', identifier: [{ system: MRN, value: 'PID-OLD' }] }, ...others) }, '200 OK');
    const result = await mapStudySnapshot(withSeries(snapshot, 1), fhir.port, settings);
    expect(result).toMatchObject({ outcome: 'updated', patient, movedFrom: 'p1' });
    const study = entries(fhir.transactions[0]).find((entry) => entry.resource?.resourceType === 'ImagingStudy');
    expect((study?.resource as ImagingStudy).subject?.reference).toContain(subject);
    expect(study?.request).toEqual({ method: 'PUT', url: 'ImagingStudy/s1', ifMatch: 'W/"4"' });
  });

  it('a moved study takes along what else references it under the patient it left (another node\'s manifest, dose of a report only another node holds), and nothing this transaction writes twice', async () => {
    const stored = { ...stripped(withSeries(snapshot, 1)), id: 's1', meta: { versionId: '4' }, subject: { reference: 'Patient/p1' } };
    const otherNodes: DocumentReference = {
      resourceType: 'DocumentReference',
      id: 'd-other',
      meta: { versionId: '2' },
      status: 'current',
      identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:uuid:another-node' }],
      subject: { reference: 'Patient/p1' },
      content: [{ attachment: { url: 'https://other-node/dicomweb/studies/1' } }],
    };
    const dose = (id: string, subject: string): Observation => ({ resourceType: 'Observation', id, meta: { versionId: '1' }, status: 'final', code: {}, subject: { reference: subject } });
    const fhir = fakeFhir(
      {
        ImagingStudy: [stored],
        Patient: patients({ resourceType: 'Patient', id: 'p1', identifier: [{ system: MRN, value: 'PID-OLD' }] }, { resourceType: 'Patient', id: 'p2', identifier: [{ system: MRN, value: 'PID-0001' }] } as Patient),
        DocumentReference: (params) => (params.related === 'ImagingStudy/s1' ? [otherNodes] : []),
        Observation: (params) => (params['part-of'] === 'ImagingStudy/s1' ? [dose('o-other', 'Patient/p1'), dose('o-moved-before', 'Patient/p2')] : []),
      },
      '200 OK',
    );
    const result = await mapStudySnapshot(withSeries(snapshot, 1), fhir.port, settings);
    expect(result).toMatchObject({ patient: 'moved', movedFrom: 'p1', derived: { referrersMoved: 2 } });
    const moved = entries(fhir.transactions[0]).filter((entry) => /^(DocumentReference|Observation)\//.test(entry.request?.url ?? ''));
    expect(moved.map((entry) => [entry.request?.url, entry.request?.ifMatch, (entry.resource as DocumentReference | Observation).subject?.reference])).toEqual([
      ['DocumentReference/d-other', 'W/"2"', 'Patient/p2'],
      ['Observation/o-other', 'W/"1"', 'Patient/p2'],
    ]);
    expect((moved[0]?.resource as DocumentReference).content).toEqual(otherNodes.content);
  });

  it('a snapshot received before the one that set the subject (a replay, another node) never moves the study back', async () => {
    const asOf = { url: 'https://imagingfacade.org/fhir/StructureDefinition/subject-as-of', valueDateTime: '2099-01-01T00:00:00.000Z' };
    const stored = { ...stripped(withSeries(snapshot, 1)), id: 's1', meta: { versionId: '4' }, subject: { reference: 'Patient/p1' }, extension: [asOf] };
    const fhir = fakeFhir({ ImagingStudy: [stored], Patient: patients({ resourceType: 'Patient', id: 'p1', identifier: [{ system: MRN, value: 'PID-OLD' }] }) });
    expect(await mapStudySnapshot(withSeries(snapshot, 1), fhir.port, settings)).toMatchObject({ outcome: 'unchanged', patient: 'kept' });
    expect(fhir.transactions).toEqual([]);
  });

  it('a new study records when the snapshot that set its subject was received', async () => {
    const fhir = fakeFhir();
    await mapStudySnapshot(snapshot, fhir.port, settings);
    const study = entries(fhir.transactions[0]).find((entry) => entry.resource?.resourceType === 'ImagingStudy')?.resource as ImagingStudy;
    expect(study.extension).toEqual([{ url: 'https://imagingfacade.org/fhir/StructureDefinition/subject-as-of', valueDateTime: snapshot.lastReceivedAt }]);
  });

  it('when the stored subject carries the new identifier beside the old one (records merged), keeps it', async () => {
    const stored = { ...stripped(withSeries(snapshot, 1)), id: 's1', meta: { versionId: '4' }, subject: { reference: 'Patient/p1' } };
    const merged = { resourceType: 'Patient', id: 'p1', identifier: [{ system: MRN, value: 'PID-OLD' }, { system: MRN, value: 'PID-0001' }] } as Patient;
    const fhir = fakeFhir({ ImagingStudy: [stored], Patient: patients(merged) });
    expect(await mapStudySnapshot(withSeries(snapshot, 1), fhir.port, settings)).toMatchObject({ outcome: 'unchanged', patient: 'kept' });
    expect(fhir.transactions).toEqual([]);
  });

  it('when the study is stored and a series is new, updates it by id with If-Match', async () => {
    const stored = {
      ...stripped(withSeries(snapshot, 1)),
      id: 's1',
      meta: { versionId: '4' },
      subject: { reference: 'Patient/p1' },
    };
    const fhir = fakeFhir({ ImagingStudy: [stored] }, '200 OK');
    expect(await mapStudySnapshot(snapshot, fhir.port, settings)).toMatchObject({
      outcome: 'updated',
      numberOfSeries: 2,
    });
    const [, entry] = entries(fhir.transactions[0]);
    expect(entry?.request).toEqual({ method: 'PUT', url: 'ImagingStudy/s1', ifMatch: 'W/"4"' });
    expect((entry?.resource as ImagingStudy).subject).toEqual({ reference: 'Patient/p1' });
  });

  describe('instances rejected at the source (IHE IOCM rejection notes)', () => {
    const stored = { ...stripped(), id: 's1', meta: { versionId: '4' }, subject: { reference: 'Patient/p1' } };
    const [first, second] = snapshot.series as [StudySeries, StudySeries];
    const rejecting = (...uids: string[]) => uids.map((sopInstanceUid) => ({ sopInstanceUid, reason: '113001' }));

    it('removes a rejected instance from the stored study, and a series left empty, although the merge otherwise only adds', async () => {
      const fhir = fakeFhir({ ImagingStudy: [stored], Patient: [{ resourceType: 'Patient', id: 'p1' }] }, '200 OK');
      const data = { ...snapshot, series: [{ ...first, instances: first.instances.slice(1) }], rejected: rejecting(first.instances[0]!.sopInstanceUid, second.instances[0]!.sopInstanceUid) };
      expect(await mapStudySnapshot(data, fhir.port, settings)).toMatchObject({ outcome: 'updated', numberOfSeries: 1, numberOfInstances: 1 });
      const study = entries(fhir.transactions[0]).find((entry) => entry.resource?.resourceType === 'ImagingStudy')?.resource as ImagingStudy;
      expect(study.series?.map((series) => [series.uid, series.instance?.map((instance) => instance.uid)])).toEqual([[first.seriesInstanceUid, [first.instances[1]!.sopInstanceUid]]]);
    });

    it('remembers what it rejected on the study: another node\'s snapshot that still lists the instance (without the note) does not bring it back', async () => {
      const fhir = fakeFhir({ ImagingStudy: [stored], Patient: [{ resourceType: 'Patient', id: 'p1' }] }, '200 OK');
      const rejectedUid = first.instances[0]!.sopInstanceUid;
      const data = { ...snapshot, series: [{ ...first, instances: first.instances.slice(1) }, second], rejected: rejecting(rejectedUid) };
      await mapStudySnapshot(data, fhir.port, settings);
      const written = entries(fhir.transactions[0]).find((entry) => entry.resource?.resourceType === 'ImagingStudy')?.resource as ImagingStudy;
      expect(written.extension?.filter((extension) => extension.url === REJECTED_INSTANCE_URL)).toHaveLength(1);

      // Another node's snapshot: every instance, no note.
      const again = fakeFhir({ ImagingStudy: [{ ...written, id: 's1', meta: { versionId: '5' } }], Patient: [{ resourceType: 'Patient', id: 'p1' }] }, '200 OK');
      expect(await mapStudySnapshot({ ...snapshot, lastReceivedAt: '2024-01-05T10:30:00.000Z' }, again.port, settings)).toMatchObject({ outcome: 'unchanged', numberOfInstances: 2 });
      expect(again.transactions).toEqual([]);
    });

    it('every instance rejected: deletes the study with its manifest and dose in one transaction, and says whose sums change', async () => {
      const dose: Observation = { resourceType: 'Observation', id: 'o1', status: 'final', code: {}, partOf: [{ reference: 'ImagingStudy/s1' }] };
      // 201: the record's conditional create must create (any other answer is retried).
      const fhir = fakeFhir({ ImagingStudy: [stored], Observation: (params) => (params['part-of'] === 'ImagingStudy/s1' ? [dose] : []) }, '201 Created');
      const data = { ...snapshot, series: [], rejected: rejecting(...snapshot.series.flatMap((series) => series.instances.map((instance) => instance.sopInstanceUid))) };
      expect(await mapStudySnapshot(data, fhir.port, settings)).toMatchObject({ outcome: 'removed', removedFrom: 'p1', numberOfInstances: 0 });
      expect(entries(fhir.transactions[0]).map((entry) => `${entry.request?.method} ${entry.request?.url}`)).toEqual([
        'DELETE DocumentReference?related=ImagingStudy%2Fs1',
        'DELETE Observation/o1',
        'DELETE ImagingStudy/s1',
        // What it rejected is remembered once the study is gone (rejected-study-record.ts).
        'POST Basic',
      ]);
      const record = entries(fhir.transactions[0])[3]!.resource as Basic;
      expect(record.identifier).toEqual([{ system: 'urn:dicom:uid', value: `urn:oid:${snapshot.studyInstanceUid}` }]);
      // The patient it was filed under, until their dose is computed again (index-writer.ts).
      expect(record.meta?.tag).toEqual([{ system: 'https://imagingfacade.org/fhir/CodeSystem/pending-dose-recount', code: 'p1' }]);
      expect(rememberedRejections(record).map((item) => item.sopInstanceUid).sort()).toEqual(data.rejected.map((item) => item.sopInstanceUid).sort());
      expect(validateR4(record)).toEqual([]);
      // The study, its dose Observations, and which other summaries report them.
      expect(fhir.searches.map(([type, params]) => `${type} ${Object.keys(params).join(',')}`)).toEqual(['ImagingStudy identifier,_count', 'Basic identifier,code,_count', 'Observation part-of,_count', 'Observation has-member,_count']);
    });

    it('every instance rejected before the study was ever published: makes no Patient nor study, only remembers the rejection', async () => {
      const fhir = fakeFhir();
      const data = { ...snapshot, series: [], rejected: rejecting(first.instances[0]!.sopInstanceUid) };
      expect(await mapStudySnapshot(data, fhir.port, settings)).toMatchObject({ outcome: 'unchanged' });
      expect(entries(fhir.transactions[0]).map((entry) => `${entry.request?.method} ${entry.request?.url}`)).toEqual(['POST Basic']);
    });

    describe('a study that left the index with every instance rejected, remembered by its record', () => {
      const everyUid = snapshot.series.flatMap((series) => series.instances.map((instance) => instance.sopInstanceUid));
      const record = (...uids: string[]): Basic => ({
        resourceType: 'Basic',
        id: 'b1',
        meta: { versionId: '1' },
        extension: withRejections(undefined, rejecting(...uids)),
        identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${snapshot.studyInstanceUid}` }],
        code: { coding: [{ system: 'https://imagingfacade.org/fhir/CodeSystem/index-record', code: 'rejected-study' }] },
      });

      it('another node\'s snapshot, which still lists every instance without the note, publishes nothing and writes nothing', async () => {
        const fhir = fakeFhir({ Basic: [record(...everyUid)] });
        expect(await mapStudySnapshot(snapshot, fhir.port, settings)).toMatchObject({ outcome: 'unchanged', numberOfInstances: 0 });
        expect(fhir.transactions).toEqual([]);
        expect(fhir.searches.map(([type]) => type)).toEqual(['ImagingStudy', 'Basic']);
      });

      it('an instance it did not reject publishes the study again, without the rejected ones; the study remembers them and the record goes', async () => {
        let reads = 0;
        const created = { ...stripped(), id: 's9', meta: { versionId: '1' }, subject: { reference: 'Patient/p1' } };
        const fhir = fakeFhir({ Basic: [record(...everyUid.slice(1))], ImagingStudy: () => (reads++ === 0 ? [] : [created]) });
        expect(await mapStudySnapshot(snapshot, fhir.port, settings)).toMatchObject({ outcome: 'created', numberOfInstances: 1, derived: { rejectedStudyRecord: 'deleted' } });
        const written = entries(fhir.transactions[0]);
        // The record goes once the create is answered 201, in a transaction of its own that the study,
        // put back unchanged with If-Match, guards (HAPI ignores If-Match on a DELETE).
        expect(entries(fhir.transactions[1]).map((entry) => `${entry.request?.method} ${entry.request?.url} ${entry.request?.ifMatch ?? ''}`.trim())).toEqual(['PUT ImagingStudy/s9 W/"1"', 'DELETE Basic/b1']);
        expect(entries(fhir.transactions[1])[0]?.resource).toEqual(created);
        const study = written.find((entry) => entry.resource?.resourceType === 'ImagingStudy')?.resource as ImagingStudy;
        expect(study.series?.flatMap((series) => series.instance?.map((instance) => instance.uid))).toEqual([everyUid[0]]);
        expect(rememberedRejections(study).map((item) => item.sopInstanceUid).sort()).toEqual(everyUid.slice(1).sort());
      });

      it('a study found stored beside a record (two nodes\' mappers racing) takes its rejections, loses those instances, and the record goes with its If-Match\'d write', async () => {
        const stored = { ...stripped(), id: 's1', meta: { versionId: '4' }, subject: { reference: 'Patient/p1' } };
        const fhir = fakeFhir({ ImagingStudy: [stored], Patient: [{ resourceType: 'Patient', id: 'p1' }], Basic: [record(...everyUid.slice(1))] }, '200 OK');
        expect(await mapStudySnapshot(snapshot, fhir.port, settings)).toMatchObject({ outcome: 'updated', numberOfInstances: 1, derived: { rejectedStudyRecord: 'deleted' } });
        const written = entries(fhir.transactions[0]);
        expect(written.map((entry) => `${entry.request?.method} ${entry.request?.url}`).filter((request) => !request.startsWith('PUT Endpoint'))).toEqual(['DELETE Basic/b1', 'PUT ImagingStudy/s1']);
        expect(written.find((entry) => entry.request?.url === 'ImagingStudy/s1')?.request?.ifMatch).toBe('W/"4"');
        const study = written.find((entry) => entry.resource?.resourceType === 'ImagingStudy')!.resource as ImagingStudy;
        expect(study.series?.flatMap((series) => series.instance?.map((instance) => instance.uid))).toEqual([everyUid[0]]);
        expect(rememberedRejections(study).map((item) => item.sopInstanceUid).sort()).toEqual(everyUid.slice(1).sort());
      });

      it('a study found stored beside a record that says nothing new: the record goes, guarded by the study put back unchanged with If-Match (HAPI ignores If-Match on a DELETE)', async () => {
        const data = { ...snapshot, series: snapshot.series.map((series) => ({ ...series, instances: series.instances.filter((instance) => instance.sopInstanceUid !== everyUid[0]) })).filter((series) => series.instances.length > 0) };
        const remembering = { ...stripped(data), id: 's1', meta: { versionId: '4' }, subject: { reference: 'Patient/p1' }, extension: withRejections(undefined, rejecting(everyUid[0]!)) };
        const fhir = fakeFhir({ ImagingStudy: [remembering], Patient: [{ resourceType: 'Patient', id: 'p1' }], Basic: [record(everyUid[0]!)] }, '200 OK');
        expect(await mapStudySnapshot(data, fhir.port, settings)).toMatchObject({ derived: { rejectedStudyRecord: 'deleted' } });
        const written = entries(fhir.transactions[0]);
        expect(written.map((entry) => `${entry.request?.method} ${entry.request?.url} ${entry.request?.ifMatch ?? ''}`.trim())).toEqual(['PUT ImagingStudy/s1 W/"4"', 'DELETE Basic/b1']);
        expect(written[0]?.resource).toEqual(remembering);
      });

      it('a record written meanwhile by another node\'s mapper, seen once the study is created: the event is handled again (retryable), the record kept', async () => {
        let reads = 0;
        const fhir = fakeFhir({ Basic: () => (reads++ === 0 ? [] : [record(everyUid[0]!)]) });
        const failure = await mapStudySnapshot(snapshot, fhir.port, settings).then(() => undefined, (error: unknown) => error);
        expect(isRetryableFhirError(failure)).toBe(true);
        expect(fhir.transactions).toHaveLength(1);
      });

      it('a study created meanwhile by another node\'s mapper, seen once the record is written: the event is handled again (retryable)', async () => {
        let reads = 0;
        const created = { ...stripped(), id: 's9', meta: { versionId: '1' }, subject: { reference: 'Patient/p1' } };
        const fhir = fakeFhir({ ImagingStudy: () => (reads++ === 0 ? [] : [created]) });
        const failure = await mapStudySnapshot({ ...snapshot, series: [], rejected: rejecting(...everyUid) }, fhir.port, settings).then(() => undefined, (error: unknown) => error);
        expect(isRetryableFhirError(failure)).toBe(true);
        expect(entries(fhir.transactions[0]).map((entry) => `${entry.request?.method} ${entry.request?.url}`)).toEqual(['POST Basic']);
      });

      it('a rejection it did not know yet is added to the record, updated with If-Match', async () => {
        const fhir = fakeFhir({ Basic: [record(...everyUid.slice(1))] });
        expect(await mapStudySnapshot({ ...snapshot, series: [], rejected: rejecting(everyUid[0]!) }, fhir.port, settings)).toMatchObject({ outcome: 'unchanged' });
        const [entry] = entries(fhir.transactions[0]);
        expect(entry?.request).toEqual({ method: 'PUT', url: 'Basic/b1', ifMatch: 'W/"1"' });
        expect(rememberedRejections(entry?.resource as Basic).map((item) => item.sopInstanceUid).sort()).toEqual([...everyUid].sort());
      });
    });
  });

  it('when the conditional create of the study matched one created meanwhile, fails retryably', async () => {
    const fhir = fakeFhir({}, '200 OK');
    const failure = await mapStudySnapshot(snapshot, fhir.port, settings).catch((error: unknown) => error);
    expect(isRetryableFhirError(failure)).toBe(true);
  });

  it.each([
    ['no PatientID', { PatientID: attr('LO') }, /no PatientID/],
    ['a blank PatientID', { PatientID: attr('LO', '   ') }, /no PatientID/],
  ])('when the study has %s, fails permanently before any request', async (_situation, patient, reason) => {
    const fhir = fakeFhir();
    const failure = await mapStudySnapshot(
      studySnapshot({ patient, series: [{ instances: 1 }] }),
      fhir.port,
      settings,
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UnprocessableStudyError);
    expect((failure as Error).message).toMatch(reason);
    expect(isRetryableFhirError(failure)).toBe(false);
    expect(fhir.searches).toEqual([]);
  });

  it.each([
    [
      'two Patients',
      {
        Patient: [
          { resourceType: 'Patient', id: 'a' },
          { resourceType: 'Patient', id: 'b' },
        ] as Patient[],
      },
    ],
    ['two ImagingStudies', { ImagingStudy: [stripped(), stripped()] }],
  ])('when %s match the identifier, fails permanently without writing', async (_situation, found) => {
    const fhir = fakeFhir(found);
    const failure = await mapStudySnapshot(snapshot, fhir.port, settings).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UnprocessableStudyError);
    expect(fhir.transactions).toEqual([]);
  });

  it('reports the attributes it left out, by keyword only', async () => {
    const odd = studySnapshot({
      patient: { PatientBirthDate: attr('DA', '1980'), StudyTime: attr('TM', '99') },
      series: [{ instances: 1 }],
    });
    const result = await mapStudySnapshot(odd, fakeFhir().port, settings);
    expect(result.skipped).toEqual(['PatientBirthDate', 'StudyTime']);
  });
});

/** The study as the server would hold it after storing `data` (without id and meta), its Endpoint resolved. */
function stripped(data = snapshot): ImagingStudy {
  const context = { defaultPatientIdSystem: settings.defaultPatientIdSystem, skip: () => undefined };
  const study = imagingStudyFromSnapshot(data, { reference: 'Patient/p1' }, context);
  const endpoint = [{ reference: 'Endpoint/e1' }];
  return mergeImagingStudy(undefined, { ...study, endpoint, series: study.series?.map((series) => ({ ...series, endpoint })) });
}

describe('the Endpoint, the manifest and the dose in the same transaction', () => {
  const node = { ...DEFAULT_NODE_SETTINGS, dicomWebBaseUrl: 'https://node-a.example/dicomweb', nodeUid: '1.2.840.99.7' };
  const withNode = { ...settings, node };
  const CT_EVENTS = [{ uid: '1.2.3.100.1', ctdivol: 10, dlp: 300 }];

  /** The snapshot with a manifest and a CT dose report in a series of its own. */
  function fullSnapshot(base = snapshot) {
    const data = { ...base, series: [...base.series], manifest: manifestOf(base.studyInstanceUid) };
    data.series.push({
      seriesInstanceUid: '2.25.4242',
      attributes: { '00080060': { vr: 'CS', Value: ['SR'] } },
      instances: [
        {
          sopInstanceUid: '2.25.4242.1',
          sopClassUid: '1.2.840.10008.5.1.4.1.1.88.67',
          transferSyntaxUid: '1.2.840.10008.1.2.1',
          attributes: {},
          content: ctReport(CT_EVENTS),
        },
      ],
    });
    return data;
  }

  const typesOf = (bundle: Bundle | undefined) => entries(bundle).map((entry) => entry.resource?.resourceType);

  it('a new study: Patient, Endpoint, ImagingStudy, DocumentReference and Observations, each referencing the others by fullUrl', async () => {
    const fhir = fakeFhir();
    const result = await mapStudySnapshot(fullSnapshot(), fhir.port, withNode);

    expect(typesOf(fhir.transactions[0])).toEqual(['Patient', 'Endpoint', 'ImagingStudy', 'DocumentReference', 'Observation', 'Observation']);
    const [patient, endpoint, study, documentReference, event, summary] = entries(fhir.transactions[0]);
    expect(endpoint?.request).toEqual({ method: 'PUT', url: 'Endpoint?identifier=urn%3Aietf%3Arfc%3A3986%7Curn%3Aoid%3A1.2.840.99.7' });
    expect((endpoint?.resource as Endpoint).address).toBe('https://node-a.example/dicomweb');
    const imagingStudy = study?.resource as ImagingStudy;
    expect(imagingStudy.endpoint).toEqual([{ reference: endpoint?.fullUrl }]);
    expect(imagingStudy.series?.map((series) => series.endpoint)).toEqual(imagingStudy.series?.map(() => [{ reference: endpoint?.fullUrl }]));
    expect(imagingStudy.numberOfInstances).toBe(4); // the manifest is not listed, the dose report is
    expect(documentReference?.request).toEqual({ method: 'POST', url: 'DocumentReference', ifNoneExist: expect.stringMatching(/^identifier=urn%3Aietf%3Arfc%3A3986%7Curn%3Auuid%3A/) });
    const doc = documentReference?.resource as DocumentReference;
    expect(doc.subject).toEqual({ reference: patient?.fullUrl });
    expect(doc.context?.related?.[0]?.reference).toBe(study?.fullUrl);
    // Neither Observation is stored: each is a conditional create on its identifier and code.
    expect(event?.request).toEqual({ method: 'POST', url: 'Observation', ifNoneExist: 'identifier=urn%3Adicom%3Auid%7Curn%3Aoid%3A1.2.3.100.1&code=http%3A%2F%2Fdicom.nema.org%2Fresources%2Fontology%2FDCM%7C113852' });
    expect(summary?.request).toEqual({ method: 'POST', url: 'Observation', ifNoneExist: 'identifier=urn%3Adicom%3Auid%7Curn%3Aoid%3A2.25.4242.1&code=http%3A%2F%2Floinc.org%7C73569-6' });
    expect((summary?.resource as Observation).partOf?.[0]?.reference).toBe(study?.fullUrl);
    expect((summary?.resource as Observation).hasMember?.[0]?.reference).toBe(event?.fullUrl);
    expect(result.derived).toEqual({ documentReference: 'created', observations: 2, notes: [] });
    for (const entry of entries(fhir.transactions[0])) {
      const problems = validateR4(entry.resource!).filter((issue) => !/got "urn:uuid:/.test(issue.details?.text ?? ''));
      expect({ type: entry.resource?.resourceType, problems }).toEqual({ type: entry.resource?.resourceType, problems: [] });
    }
  });

  /** Dose Observations as the server holds them, at a version, and a search of them by identifier (and code) as the server answers it. */
  const storedObservation = (id: string, versionId: string, uid: string, code: string, valueString = 'as an older snapshot said'): Observation => ({
    resourceType: 'Observation',
    id,
    meta: { versionId },
    status: 'final',
    identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${uid}` }],
    code: { coding: [{ system: code === '73569-6' ? 'http://loinc.org' : 'http://dicom.nema.org/resources/ontology/DCM', code }] },
    valueString,
  });
  const byIdentifier = (...stored: Observation[]) => (params: Record<string, string>) =>
    stored.filter(
      (observation) =>
        params.identifier?.split(',').includes(`urn:dicom:uid|${observation.identifier?.[0]?.value}`) &&
        (!params.code || params.code === `${observation.code.coding?.[0]?.system}|${observation.code.coding?.[0]?.code}`),
    );

  it('a stored study: the derived resources reference it by id; a changed manifest updates its DocumentReference, and a changed dose its Observations, by id with If-Match', async () => {
    const data = fullSnapshot();
    const stored = { ...stripped(data), id: 's1', meta: { versionId: '3' }, subject: { reference: 'Patient/p1' } };
    const older: DocumentReference = {
      resourceType: 'DocumentReference',
      id: 'd1',
      meta: { versionId: '2' },
      status: 'current',
      content: [{ attachment: { creation: '2024-01-05T11:00:00.000Z' } }],
    };
    const observations = byIdentifier(storedObservation('o-summary', '5', '2.25.4242.1', '73569-6'), storedObservation('o-event', '2', '1.2.3.100.1', '113852'));
    const fhir = fakeFhir({ ImagingStudy: [stored], DocumentReference: [older], Observation: observations }, '200 OK');
    const result = await mapStudySnapshot(data, fhir.port, withNode);

    expect(result.outcome).toBe('unchanged');
    expect(typesOf(fhir.transactions[0])).toEqual(['DocumentReference', 'Observation', 'Observation']);
    const [documentReference, event, summary] = entries(fhir.transactions[0]);
    expect(documentReference?.request).toEqual({ method: 'PUT', url: 'DocumentReference/d1', ifMatch: 'W/"2"' });
    expect((documentReference?.resource as DocumentReference).context?.related?.[0]?.reference).toBe('ImagingStudy/s1');
    expect(event?.request).toEqual({ method: 'PUT', url: 'Observation/o-event', ifMatch: 'W/"2"' });
    expect(summary?.request).toEqual({ method: 'PUT', url: 'Observation/o-summary', ifMatch: 'W/"5"' });
    expect((summary?.resource as Observation).partOf?.[0]?.reference).toBe('ImagingStudy/s1');
    expect((summary?.resource as Observation).hasMember?.[0]?.reference).toBe(event?.fullUrl);
    // Two reads: the summaries, then the changed group's other Observations by identifier.
    expect(fhir.searches.filter(([type]) => type === 'Observation').map(([, params]) => params.identifier)).toEqual(['urn:dicom:uid|urn:oid:2.25.4242.1', 'urn:dicom:uid|urn:oid:1.2.3.100.1']);
  });

  it('when a dose Observation\'s conditional create matched one created meanwhile (200, not 201), fails retryably', async () => {
    const data = fullSnapshot();
    const stored = { ...stripped(data), id: 's1', meta: { versionId: '3' }, subject: { reference: 'Patient/p1' } };
    const fhir = fakeFhir({ ImagingStudy: [stored], Observation: byIdentifier(storedObservation('o-summary', '5', '2.25.4242.1', '73569-6')) }, '200 OK');
    const failure = await mapStudySnapshot({ ...data, manifest: undefined }, fhir.port, withNode).catch((error: unknown) => error);
    expect(fhir.transactions).toHaveLength(1);
    expect(entries(fhir.transactions[0]).map((entry) => entry.request?.method)).toEqual(['POST', 'PUT']);
    expect(isRetryableFhirError(failure)).toBe(true);
  });

  it('two stored Observations with the identifier and code of one to write: permanent (no retry makes them one)', async () => {
    const data = fullSnapshot();
    const stored = { ...stripped(data), id: 's1', meta: { versionId: '3' }, subject: { reference: 'Patient/p1' } };
    const twice = byIdentifier(storedObservation('o-1', '1', '1.2.3.100.1', '113852'), storedObservation('o-2', '1', '1.2.3.100.1', '113852'));
    const fhir = fakeFhir({ ImagingStudy: [stored], Observation: twice });
    await expect(mapStudySnapshot({ ...data, manifest: undefined }, fhir.port, withNode)).rejects.toThrow(new UnprocessableStudyError('more than one Observation has the identifier and code of a dose Observation of the study'));
    expect(fhir.transactions).toEqual([]);
  });

  it('when the stored DocumentReference describes a newer manifest (an older snapshot came late), leaves it as it is', async () => {
    const data = fullSnapshot();
    const stored = { ...stripped(data), id: 's1', meta: { versionId: '3' }, subject: { reference: 'Patient/p1' } };
    const newer: DocumentReference = {
      resourceType: 'DocumentReference',
      id: 'd1',
      status: 'current',
      content: [{ attachment: { creation: '2024-01-06T09:00:00.000Z' } }],
    };
    const fhir = fakeFhir({ ImagingStudy: [stored], DocumentReference: [newer] });
    const result = await mapStudySnapshot({ ...data, series: data.series.filter((series) => series.seriesInstanceUid !== '2.25.4242') }, fhir.port, withNode);
    expect(result.derived.documentReference).toBe('stale');
    expect(fhir.transactions).toEqual([]);
  });

  it('when everything is stored as the snapshot says, writes nothing at all', async () => {
    const data = fullSnapshot();
    const first = fakeFhir();
    await mapStudySnapshot(data, first.port, withNode);
    const written = entries(first.transactions[0]);
    const asStored = <T extends { id?: string }>(type: string, id: string): T => {
      const resource = written.find((entry) => entry.resource?.resourceType === type)?.resource as unknown as T;
      // The server rewrites the transaction's urn:uuid references to ids, and gives the resource its id.
      const stored = JSON.stringify(resource).replaceAll(/"reference":"urn:uuid:[0-9a-f-]{36}"/g, `"reference":"${type}/x"`);
      return { ...(JSON.parse(stored) as T), id, meta: { versionId: '1' } };
    };
    const study = { ...stripped(data), id: 's1', meta: { versionId: '1' }, subject: { reference: 'Patient/p1' } };
    const doc = asStored<DocumentReference>('DocumentReference', 'd1');
    const summary = written.filter((entry) => entry.resource?.resourceType === 'Observation').at(-1)?.resource as Observation;
    const fhir = fakeFhir({
      ImagingStudy: [study],
      DocumentReference: [
        { ...doc, subject: { reference: 'Patient/p1' }, context: { ...doc.context, related: [{ ...doc.context!.related![0]!, reference: 'ImagingStudy/s1' }, ...doc.context!.related!.slice(1)] } },
      ],
      Observation: [
        JSON.parse(
          JSON.stringify({ ...summary, id: 'o1', meta: { versionId: '1' }, subject: { reference: 'Patient/p1' } }).replaceAll(
            /"reference":"urn:uuid:[0-9a-f-]{36}"/g,
            '"reference":"Observation/o2"',
          ),
        ) as Observation,
      ],
    });

    const result = await mapStudySnapshot(data, fhir.port, withNode);

    expect(result).toMatchObject({ outcome: 'unchanged', derived: { documentReference: 'unchanged', observations: 0 } });
    expect(fhir.transactions).toEqual([]);
  });

  it('bad dose content never fails the study: the ImagingStudy is written and the reason noted', async () => {
    const data = fullSnapshot();
    data.series.at(-1)!.instances[0]!.content = { '0040A043': { vr: 'SQ', Value: ['garbage'] } };
    const fhir = fakeFhir();
    const result = await mapStudySnapshot(data, fhir.port, withNode);
    expect(typesOf(fhir.transactions[0])).toEqual(['Patient', 'Endpoint', 'ImagingStudy', 'DocumentReference']);
    expect(result.derived.notes).toEqual([expect.stringMatching(/no content this mapping reads/)]);
  });

  it('when the conditional create of the DocumentReference matched one created meanwhile, fails retryably', async () => {
    const stored = { ...stripped(snapshot), id: 's1', meta: { versionId: '3' }, subject: { reference: 'Patient/p1' } };
    const fhir = fakeFhir({ ImagingStudy: [stored] }, '200 OK');
    const failure = await mapStudySnapshot({ ...snapshot, manifest: manifestOf(snapshot.studyInstanceUid) }, fhir.port, withNode).catch(
      (error: unknown) => error,
    );
    expect(isRetryableFhirError(failure)).toBe(true);
  });
});

describe('two dose reports of one study that report the same irradiation event', () => {
  it('write the event once; both summaries reference it', async () => {
    const report = (uid: string) => ({
      sopInstanceUid: uid,
      sopClassUid: '1.2.840.10008.5.1.4.1.1.88.67',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      attributes: {},
      content: ctReport([{ uid: '1.2.3.100.1', ctdivol: 10, dlp: 300 }]),
    });
    const data = { ...snapshot, series: [...snapshot.series, { seriesInstanceUid: '2.25.77', attributes: {}, instances: [report('2.25.77.1'), report('2.25.77.2')] }] };
    const fhir = fakeFhir();
    const result = await mapStudySnapshot(data, fhir.port, settings);
    const observations = entries(fhir.transactions[0]).filter((entry) => entry.resource?.resourceType === 'Observation');
    expect(observations.map((entry) => (entry.resource as Observation).code.coding?.[0]?.code)).toEqual(['113852', '73569-6', '73569-6']);
    expect(observations.slice(1).map((entry) => (entry.resource as Observation).hasMember?.[0]?.reference)).toEqual([observations[0]?.fullUrl, observations[0]?.fullUrl]);
    expect(observations.map((entry) => entry.request?.method)).toEqual(['POST', 'POST', 'POST']);
    expect(result.derived.observations).toBe(3);
  });
});
