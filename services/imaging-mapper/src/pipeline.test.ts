import type { Bundle, BundleEntry, ExtractResource, ImagingStudy, Patient, ResourceType } from '@medplum/fhirtypes';
import { isRetryableFhirError } from '@imaging-facade/fhir';
import { UnprocessableStudyError } from './errors';
import type { FhirPort } from './fhir-lookups';
import { imagingStudyFromSnapshot } from './imaging-study-mapping';
import { mergeImagingStudy } from './merge';
import { mapStudySnapshot } from './pipeline';
import { attr, studySnapshot, withSeries } from './test-support/study-events';
import { validateR4 } from './test-support/fhir-validation';

const settings = { defaultPatientIdSystem: 'https://hospital.example/mrn' };

/** A FHIR port that answers searches from fixed lists and records the transactions. */
function fakeFhir(found: { Patient?: Patient[]; ImagingStudy?: ImagingStudy[] } = {}, status = '201 Created') {
  const transactions: Bundle[] = [];
  const searches: Array<[string, Record<string, string>]> = [];
  const port: FhirPort = {
    search: async <K extends ResourceType>(resourceType: K, params: Record<string, string>) => {
      searches.push([resourceType, params]);
      return ((found as Record<string, unknown[]>)[resourceType] ?? []) as ExtractResource<K>[];
    },
    transaction: async (bundle) => {
      transactions.push(bundle);
      return {
        resourceType: 'Bundle',
        type: 'transaction-response',
        entry: (bundle.entry ?? []).map(() => ({ response: { status } })),
      };
    },
  };
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
    });
    const [patientEntry, studyEntry] = entries(fhir.transactions[0]);
    expect(patientEntry?.request?.ifNoneExist).toBe('identifier=https%3A%2F%2Fhospital.example%2Fmrn%7CPID-0001');
    expect((studyEntry?.resource as ImagingStudy).subject).toEqual({ reference: patientEntry?.fullUrl });
    expect(validateR4(patientEntry!.resource!)).toEqual([]);
    expect(fhir.searches).toEqual([
      ['ImagingStudy', { identifier: `urn:dicom:uid|urn:oid:${snapshot.studyInstanceUid}`, _count: '2' }],
      ['Patient', { identifier: 'https://hospital.example/mrn|PID-0001', _count: '2' }],
    ]);
  });

  it('when the Patient exists, references it and does not write it', async () => {
    const fhir = fakeFhir({ Patient: [{ resourceType: 'Patient', id: 'p1' }] });
    expect(await mapStudySnapshot(snapshot, fhir.port, settings)).toMatchObject({ patient: 'existing' });
    const written = entries(fhir.transactions[0]);
    expect(written.map((entry) => entry.resource?.resourceType)).toEqual(['ImagingStudy']);
    expect((written[0]?.resource as ImagingStudy).subject).toEqual({ reference: 'Patient/p1' });
  });

  it('when the study is stored and the snapshot adds nothing, writes nothing and looks up no Patient', async () => {
    const stored = { ...stripped(), id: 's1', meta: { versionId: '4' }, subject: { reference: 'Patient/p1' } };
    const fhir = fakeFhir({ ImagingStudy: [stored] });
    expect(await mapStudySnapshot(withSeries(snapshot, 1), fhir.port, settings)).toMatchObject({
      outcome: 'unchanged',
      patient: 'kept',
    });
    expect(fhir.transactions).toEqual([]);
    expect(fhir.searches.map(([type]) => type)).toEqual(['ImagingStudy']);
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
    const [entry] = entries(fhir.transactions[0]);
    expect(entry?.request).toEqual({ method: 'PUT', url: 'ImagingStudy/s1', ifMatch: 'W/"4"' });
    expect((entry?.resource as ImagingStudy).subject).toEqual({ reference: 'Patient/p1' });
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

/** The study as the server would hold it after storing `data` (without id and meta). */
function stripped(data = snapshot): ImagingStudy {
  const context = { defaultPatientIdSystem: settings.defaultPatientIdSystem, skip: () => undefined };
  return mergeImagingStudy(undefined, imagingStudyFromSnapshot(data, { reference: 'Patient/p1' }, context));
}
