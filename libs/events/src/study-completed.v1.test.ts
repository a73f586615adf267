import { makeEvent } from './envelope';
import { STUDY_COMPLETED_V1, studyCompletedV1Schema, type StudyCompletedV1Data } from './study-completed.v1';

const snapshot: StudyCompletedV1Data = {
  studyInstanceUid: '1.2.840.113619.2.1',
  study: { '0020000D': { vr: 'UI', Value: ['1.2.840.113619.2.1'] }, '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] } },
  series: [
    {
      seriesInstanceUid: '1.2.840.113619.2.1.1',
      attributes: { '00080060': { vr: 'CS', Value: ['CT'] } },
      instances: [
        { sopInstanceUid: '1.2.840.113619.2.1.1.1', sopClassUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxUid: '1.2.840.10008.1.2.1', attributes: {} },
      ],
    },
  ],
  firstReceivedAt: '2026-11-23T10:00:00.000Z',
  lastReceivedAt: '2026-11-23T10:00:05.000Z',
};

const event = (data: unknown) => makeEvent(STUDY_COMPLETED_V1.type, 'urn:test', '1.2.840.113619.2.1', data);

describe('study-completed.v1', () => {
  test('a well-formed snapshot in its envelope is accepted', () => {
    expect(studyCompletedV1Schema.safeParse(event(snapshot)).success).toBe(true);
  });

  test.each([
    ['a Study Instance UID that is not a UID', { ...snapshot, studyInstanceUid: 'not-a-uid' }, 'data.studyInstanceUid'],
    ['a UID longer than 64 characters', { ...snapshot, studyInstanceUid: `1.${'2'.repeat(64)}` }, 'data.studyInstanceUid'],
    ['a study without series', { ...snapshot, series: [] }, 'data.series'],
    ['a series without instances', { ...snapshot, series: [{ ...snapshot.series[0], instances: [] }] }, 'data.series.0.instances'],
    ['a DICOM JSON key that is not a tag', { ...snapshot, study: { PatientName: { vr: 'PN' } } }, 'data.study.PatientName'],
    ['a VR that is not two letters', { ...snapshot, study: { '00100010': { vr: 'pn' } } }, 'data.study.00100010.vr'],
    ['a time without offset', { ...snapshot, lastReceivedAt: '2026-11-23 10:00' }, 'data.lastReceivedAt'],
  ])('rejects %s, saying where', (_situation, data, path) => {
    const result = studyCompletedV1Schema.safeParse(event(data));
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toContain(path);
  });

  test('accepts the optional manifest and dose report content, and a snapshot without them (older producers)', () => {
    const withExtras: StudyCompletedV1Data = {
      ...snapshot,
      series: [{ ...snapshot.series[0]!, instances: [{ ...snapshot.series[0]!.instances[0]!, content: { '0040A730': { vr: 'SQ', Value: [] } } }] }],
      manifest: {
        seriesInstanceUid: '2.25.1',
        sopInstanceUid: '2.25.2',
        sopClassUid: '1.2.840.10008.5.1.4.1.1.88.59',
        transferSyntaxUid: '1.2.840.10008.1.2.1',
        storagePath: '1.2.840.113619.2.1/2.25.1/2.25.2.dcm',
        createdAt: '2026-11-23T10:00:06.000Z',
        referencedInstances: 1,
      },
    };
    expect(studyCompletedV1Schema.safeParse(event(withExtras)).success).toBe(true);
    expect(studyCompletedV1Schema.safeParse(event(snapshot)).success).toBe(true);
  });

  test.each([
    ['a manifest UID that is not a UID', { sopInstanceUid: 'manifest-1' }, 'data.manifest.sopInstanceUid'],
    ['a manifest without a creation time', { createdAt: undefined }, 'data.manifest.createdAt'],
  ])('rejects %s, saying where', (_situation, manifest, path) => {
    const data = {
      ...snapshot,
      manifest: {
        seriesInstanceUid: '2.25.1',
        sopInstanceUid: '2.25.2',
        sopClassUid: '1.2.840.10008.5.1.4.1.1.88.59',
        transferSyntaxUid: '1.2.840.10008.1.2.1',
        storagePath: 'a/b/c.dcm',
        createdAt: '2026-11-23T10:00:06.000Z',
        referencedInstances: 1,
        ...manifest,
      },
    };
    const result = studyCompletedV1Schema.safeParse(event(data));
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toContain(path);
  });

  test('a snapshot without series is accepted only when every instance was rejected (IHE IOCM), and names them', () => {
    const rejected = [{ sopInstanceUid: '1.2.840.113619.2.1.1.1', reason: '113001' }];
    expect(studyCompletedV1Schema.safeParse(event({ ...snapshot, series: [], rejected })).success).toBe(true);
    expect(studyCompletedV1Schema.safeParse(event({ ...snapshot, rejected })).success).toBe(true);
    const without = studyCompletedV1Schema.safeParse(event({ ...snapshot, series: [], rejected: [] }));
    expect(without.error?.issues.map((issue) => issue.path.join('.'))).toContain('data.rejected');
    const reason = studyCompletedV1Schema.safeParse(event({ ...snapshot, rejected: [{ ...rejected[0], reason: 'quality' }] }));
    expect(reason.error?.issues.map((issue) => issue.path.join('.'))).toContain('data.rejected.0.reason');
  });

  test('rejects an event of another type', () => {
    const other = { ...event(snapshot), type: 'org.imagingfacade.imaging.instance-stored.v1' };
    expect(studyCompletedV1Schema.safeParse(other).success).toBe(false);
  });
});
