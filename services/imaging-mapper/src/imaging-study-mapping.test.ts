import type { DicomAttribute } from '@imaging-facade/events';
import type { ImagingStudy, ImagingStudySeries, ImagingStudySeriesInstance } from '@medplum/fhirtypes';
import { DicomDataset, type Keyword } from './dicom-dataset';
import {
  IMAGING_STUDY_ROWS,
  imagingStudyFromSnapshot,
  INSTANCE_ROWS,
  SERIES_ROWS,
  studyIdentifier,
} from './imaging-study-mapping';
import { applyRows, type MappingContext, type MappingRow } from './mapping-table';
import { mergeImagingStudy } from './merge';
import { validateR4 } from './test-support/fhir-validation';
import { expectElements } from './test-support/expect-elements';
import { attr, dataset, studySnapshot } from './test-support/study-events';

const UID = '1.2.826.0.1.3680043.8.498.1';

function apply<T>(rows: readonly MappingRow<T>[], attributes: Partial<Record<Keyword, DicomAttribute>>, target: T) {
  const skipped: Keyword[] = [];
  const context: MappingContext = { defaultPatientIdSystem: 'urn:x', skip: (keyword) => skipped.push(keyword) };
  return { result: applyRows(rows, new DicomDataset(dataset(attributes)), target, context), skipped };
}

describe('the ImagingStudy rows', () => {
  const date = { StudyDate: attr('DA', '20240105') };
  it.each<[string, Partial<Record<Keyword, DicomAttribute>>, Partial<ImagingStudy>, Keyword[]]>([
    [
      'StudyInstanceUID → identifier',
      { StudyInstanceUID: attr('UI', UID) },
      { identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${UID}` }] },
      [],
    ],
    ['status is available', {}, { status: 'available' }, []],
    [
      'date, time and offset',
      { ...date, StudyTime: attr('TM', '101500'), TimezoneOffsetFromUTC: attr('SH', '+0100') },
      { started: '2024-01-05T10:15:00+01:00' },
      [],
    ],
    [
      'a negative offset and fractional seconds',
      { ...date, StudyTime: attr('TM', '235959.5'), TimezoneOffsetFromUTC: attr('SH', '-0500') },
      { started: '2024-01-05T23:59:59.5-05:00' },
      [],
    ],
    [
      'date and time without an offset: the date alone',
      { ...date, StudyTime: attr('TM', '101500') },
      { started: '2024-01-05' },
      [],
    ],
    ['a date without a time', { ...date, TimezoneOffsetFromUTC: attr('SH', '+0100') }, { started: '2024-01-05' }, []],
    ['an empty time', { ...date, StudyTime: attr('TM') }, { started: '2024-01-05' }, []],
    [
      'a malformed time: the date alone',
      { ...date, StudyTime: attr('TM', '25'), TimezoneOffsetFromUTC: attr('SH', '+0100') },
      { started: '2024-01-05' },
      ['StudyTime'],
    ],
    [
      'a malformed offset: the date alone',
      { ...date, StudyTime: attr('TM', '1015'), TimezoneOffsetFromUTC: attr('SH', 'CET') },
      { started: '2024-01-05' },
      ['TimezoneOffsetFromUTC'],
    ],
    [
      'a date of the wrong length: no started',
      { StudyDate: attr('DA', '240105'), StudyTime: attr('TM', '1015') },
      { started: undefined },
      ['StudyDate'],
    ],
    ['no date: no started', { StudyTime: attr('TM', '1015') }, { started: undefined }, []],
  ])('%s', (_situation, attributes, expected, skipped) => {
    const { result, skipped: actual } = apply(IMAGING_STUDY_ROWS, attributes, {
      resourceType: 'ImagingStudy',
      status: 'registered',
      subject: {},
    } as ImagingStudy);
    expectElements(result, expected);
    expect(actual).toEqual(skipped);
  });
});

describe('the series rows', () => {
  it.each<[string, Partial<Record<Keyword, DicomAttribute>>, Partial<ImagingStudySeries>, Keyword[]]>([
    ['SeriesInstanceUID → uid', { SeriesInstanceUID: attr('UI', UID) }, { uid: UID }, ['Modality']],
    ['SeriesNumber', { SeriesNumber: attr('IS', 3) }, { number: 3 }, ['Modality']],
    ['a SeriesNumber as text', { SeriesNumber: attr('IS', '3') }, { number: 3 }, ['Modality']],
    [
      'a negative SeriesNumber is left out',
      { SeriesNumber: attr('IS', -3) },
      { number: undefined },
      ['SeriesNumber', 'Modality'],
    ],
    ['an empty SeriesNumber is absent', { SeriesNumber: attr('IS') }, { number: undefined }, ['Modality']],
    [
      'Modality → DCM coding',
      { Modality: attr('CS', 'MR') },
      { modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'MR' } },
      [],
    ],
    [
      'no Modality: OT, since the element is required',
      {},
      { modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'OT' } },
      ['Modality'],
    ],
    [
      'a malformed Modality: OT',
      { Modality: attr('CS', 'C T') },
      { modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'OT' } },
      ['Modality'],
    ],
  ])('%s', (_situation, attributes, expected, skipped) => {
    const { result, skipped: actual } = apply(SERIES_ROWS, attributes, {} as ImagingStudySeries);
    expectElements(result, expected);
    expect(actual).toEqual(skipped);
  });
});

describe('the instance rows', () => {
  it.each<[string, Partial<Record<Keyword, DicomAttribute>>, Partial<ImagingStudySeriesInstance>, Keyword[]]>([
    ['SOPInstanceUID → uid', { SOPInstanceUID: attr('UI', UID) }, { uid: UID }, []],
    [
      'SOPClassUID → sopClass',
      { SOPClassUID: attr('UI', '1.2.840.10008.5.1.4.1.1.2') },
      { sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.2' } },
      [],
    ],
    ['InstanceNumber', { InstanceNumber: attr('IS', 12) }, { number: 12 }, []],
    [
      'a fractional InstanceNumber is left out',
      { InstanceNumber: attr('IS', '1.5') },
      { number: undefined },
      ['InstanceNumber'],
    ],
  ])('%s', (_situation, attributes, expected, skipped) => {
    const { result, skipped: actual } = apply(INSTANCE_ROWS, attributes, {} as ImagingStudySeriesInstance);
    expectElements(result, expected);
    expect(actual).toEqual(skipped);
  });
});

describe('a whole snapshot', () => {
  const context: MappingContext = { defaultPatientIdSystem: 'urn:x', skip: () => undefined };
  const subject = { reference: 'Patient/1' };

  it('becomes an ImagingStudy with every series and instance, valid R4 once merged', () => {
    const snapshot = studySnapshot({
      series: [
        { number: 1, modality: 'CT', instances: 2 },
        { number: 2, modality: 'SR', instances: 1, sopClassUid: '1.2.840.10008.5.1.4.1.1.88.22' },
      ],
    });
    const study = mergeImagingStudy(undefined, imagingStudyFromSnapshot(snapshot, subject, context));
    expect(study).toEqual({
      resourceType: 'ImagingStudy',
      identifier: [studyIdentifier(snapshot.studyInstanceUid)],
      status: 'available',
      modality: [
        { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' },
        { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'SR' },
      ],
      subject,
      started: '2024-01-05T10:15:00+01:00',
      numberOfSeries: 2,
      numberOfInstances: 3,
      series: [
        expect.objectContaining({ uid: snapshot.series[0]!.seriesInstanceUid, number: 1, numberOfInstances: 2 }),
        expect.objectContaining({ uid: snapshot.series[1]!.seriesInstanceUid, number: 2, numberOfInstances: 1 }),
      ],
    });
    expect(study.series![1]!.instance).toEqual([
      {
        uid: snapshot.series[1]!.instances[0]!.sopInstanceUid,
        sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.88.22' },
        number: 1,
      },
    ]);
    expect(validateR4(study)).toEqual([]);
  });

  it('takes the UIDs from the validated event fields, not from the attributes', () => {
    const snapshot = studySnapshot({ series: [{ instances: 1 }] });
    const series = snapshot.series[0]!;
    series.attributes = dataset({ SeriesInstanceUID: attr('UI', '9.9.9') });
    series.instances[0]!.attributes = dataset({
      SOPInstanceUID: attr('UI', '9.9.9.1'),
      SOPClassUID: attr('UI', '9.9'),
    });
    const study = imagingStudyFromSnapshot(snapshot, subject, context);
    expect(study.series![0]!.uid).toBe(series.seriesInstanceUid);
    expect(study.series![0]!.instance![0]!.uid).toBe(series.instances[0]!.sopInstanceUid);
    expect(study.series![0]!.instance![0]!.sopClass.code).toBe(`urn:oid:${series.instances[0]!.sopClassUid}`);
  });

  it('never throws on attributes of the wrong JSON type, and the result is still valid R4', () => {
    const snapshot = studySnapshot({
      series: [{ instances: 1 }],
      patient: {
        StudyDate: { vr: 'DA', Value: [20240105] },
        StudyTime: { vr: 'TM', Value: [{}] },
        TimezoneOffsetFromUTC: { vr: 'SH', Value: [null] },
      },
    });
    snapshot.series[0]!.attributes = dataset({
      Modality: { vr: 'CS', Value: [['CT']] },
      SeriesNumber: { vr: 'IS', Value: ['x'] },
    });
    snapshot.series[0]!.instances[0]!.attributes = dataset({ InstanceNumber: { vr: 'IS', Value: [{ n: 1 }] } });
    const study = mergeImagingStudy(undefined, imagingStudyFromSnapshot(snapshot, subject, context));
    expect(study.started).toBe('2024-01-05');
    expect(study.series![0]!.modality.code).toBe('OT');
    expect(validateR4(study)).toEqual([]);
  });
});
