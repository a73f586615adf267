import { StudyIndexDb } from '../index/study-index-db';
import { parseQidoQuery, QidoQueryError, where } from './query';

/**
 * Keys without a column of their own, matched on the JSON the index keeps, run on a real SQLite
 * index: two studies of two patients, each with one series of one instance.
 */
const studyJson = (id: string, time: string, referrer: string, description: string, birthDate: string, sex: string) =>
  JSON.stringify({
    '00200010': { vr: 'SH', Value: [id] },
    '00080030': { vr: 'TM', Value: [time] },
    '00080090': { vr: 'PN', Value: [{ Alphabetic: referrer }] },
    '00081030': { vr: 'LO', Value: [description] },
    '00100030': { vr: 'DA', Value: [birthDate] },
    '00100040': { vr: 'CS', Value: [sex] },
  });

function index(): StudyIndexDb {
  const db = new StudyIndexDb(':memory:');
  const studies = [
    { uid: '1.1', json: studyJson('S-1', '101500.25', 'Martin^Claire', 'CT THORAX', '19610412', 'F'), series: 'CHEST AXIAL', rows: 512, type: ['ORIGINAL', 'PRIMARY', 'AXIAL'] },
    { uid: '1.2', json: studyJson('S-2', '143000', 'Dupont^Jean', 'IRM GENOU', '19750102', 'M'), series: 'T1 SAG', rows: 256, type: ['DERIVED', 'SECONDARY'] },
  ];
  for (const study of studies) {
    db.replaceStudy({
      study: { studyUid: study.uid, patientSystem: 's', patientValue: study.uid, patientId: study.uid, patientNameKey: null, studyDate: '20240105', accession: null, modalities: 'CT', numberOfSeries: 1, numberOfInstances: 1, attributes: study.json },
      series: [{ studyUid: study.uid, seriesUid: `${study.uid}.1`, modality: 'CT', seriesNumber: 1, numberOfInstances: 1, attributes: JSON.stringify({ '0008103E': { vr: 'LO', Value: [study.series] } }) }],
      instances: [
        {
          studyUid: study.uid,
          seriesUid: `${study.uid}.1`,
          sopUid: `${study.uid}.1.1`,
          sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
          instanceNumber: 1,
          transferSyntaxUid: '1.2.840.10008.1.2.1',
          storagePath: 'x',
          sizeBytes: 1,
          metadata: JSON.stringify({ '00280010': { vr: 'US', Value: [study.rows] }, '00080008': { vr: 'CS', Value: study.type } }),
        },
      ],
    });
  }
  return db;
}

const db = index();
afterAll(() => db.close());

const matches = (query: string): string[] => {
  const conditions = parseQidoQuery([...new URLSearchParams(query)], 100).conditions;
  if (conditions.study.length > 0) return db.findStudies(where(conditions.study)).map((row) => row.studyUid);
  if (conditions.series.length > 0) return db.findSeries(where(conditions.series)).map((row) => row.seriesUid);
  return db.findInstances(where(conditions.instance)).map((row) => row.sopUid);
};

describe('QIDO-RS matching on attributes without a column (PS3.4 C.2.2.2), on a real index', () => {
  test.each([
    ['StudyID, single value', 'StudyID=S-2', ['1.2']],
    ['StudyID that no study has: nothing, never every study', 'StudyID=nonexistent', []],
    ['StudyID with a wildcard', 'StudyID=S-*', ['1.1', '1.2']],
    ['StudyID by tag', '00200010=S-1', ['1.1']],
    ['StudyTime range, a fraction of the last second included', 'StudyTime=100000-101500', ['1.1']],
    ['StudyTime open range', 'StudyTime=120000-', ['1.2']],
    ['ReferringPhysicianName, case-insensitive, alphabetic group', 'ReferringPhysicianName=dupont^*', ['1.2']],
    ['StudyDescription with wildcards', 'StudyDescription=*THORAX', ['1.1']],
    ['PatientBirthDate range', 'PatientBirthDate=19700101-19801231', ['1.2']],
    ['PatientSex', 'PatientSex=F', ['1.1']],
    ['SeriesDescription in a series search', 'SeriesDescription=T1*', ['1.2.1']],
    ['SeriesDescription that no series has', 'SeriesDescription=zzz*', []],
    ['Rows, a number, in an instance search', 'Rows=256', ['1.2.1.1']],
    ['ImageType, any of its values', 'ImageType=AXIAL', ['1.1.1.1']],
    ['Modality with a wildcard (CS)', 'Modality=C*', ['1.1.1', '1.2.1']],
    ['ModalitiesInStudy with a wildcard, in a list', 'ModalitiesInStudy=M*,C?', ['1.1', '1.2']],
    ['ModalitiesInStudy with a wildcard that matches nothing', 'ModalitiesInStudy=M*', []],
  ])('%s', (_what, query, expected) => {
    expect(matches(query)).toEqual(expected);
  });

  test.each([
    ['a malformed time', 'StudyTime=10h'],
    ['a malformed birth date range', 'PatientBirthDate=1961-1975'],
    ['Rows that is not a number', 'Rows=many'],
  ])('%s: a QidoQueryError (400)', (_what, query) => {
    expect(() => parseQidoQuery([...new URLSearchParams(query)], 100)).toThrow(QidoQueryError);
  });

  test('a sequence is not matched on: ignored, with a warning', () => {
    const query = parseQidoQuery([...new URLSearchParams('ProcedureCodeSequence=x')], 100);
    expect([query.conditions.study, query.warnings]).toEqual([[], ['ProcedureCodeSequence is not supported for matching and was ignored']]);
  });

  test('emptyvaluematching and multiplevaluematching (PS3.18 8.3.4.1) are taken, their unsupported forms said in a warning', () => {
    expect(parseQidoQuery([...new URLSearchParams('emptyvaluematching=true&multiplevaluematching=false')], 100).warnings).toHaveLength(2);
    expect(parseQidoQuery([...new URLSearchParams('emptyvaluematching=false&multiplevaluematching=true')], 100).warnings).toEqual([]);
  });
});
