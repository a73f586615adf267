import { StudyIndexDb } from '../index/study-index-db';
import { parseQidoQuery } from './query';
import { search, type SearchContext } from './search';

/** One study of one series of one instance, on a real index. */
function index(): StudyIndexDb {
  const db = new StudyIndexDb(':memory:');
  db.replaceStudy({
    study: {
      studyUid: '1.1',
      patientSystem: 's',
      patientValue: 'P1',
      patientId: 'P1',
      patientNameKey: 'DOE^JANE',
      studyDate: '20240105',
      accession: 'A1',
      modalities: 'CT',
      numberOfSeries: 1,
      numberOfInstances: 1,
      attributes: JSON.stringify({ '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] }, '00100020': { vr: 'LO', Value: ['P1'] }, '00080020': { vr: 'DA', Value: ['20240105'] }, '00080050': { vr: 'SH', Value: ['A1'] } }),
    },
    series: [{ studyUid: '1.1', seriesUid: '1.1.1', modality: 'CT', seriesNumber: 4, numberOfInstances: 1, attributes: JSON.stringify({ '00080060': { vr: 'CS', Value: ['CT'] }, '00200011': { vr: 'IS', Value: [4] } }) }],
    instances: [
      { studyUid: '1.1', seriesUid: '1.1.1', sopUid: '1.1.1.1', sopClassUid: '1.2.840.10008.5.1.4.1.1.2', instanceNumber: 1, transferSyntaxUid: '1.2.840.10008.1.2.1', storagePath: 'x', sizeBytes: 1, metadata: JSON.stringify({ '00080018': { vr: 'UI', Value: ['1.1.1.1'] }, '00280100': { vr: 'US', Value: [16] } }) },
    ],
  });
  return db;
}

const db = index();
afterAll(() => db.close());
const context: SearchContext = { db, access: { consentShares: () => true }, scope: { kind: 'all' }, publicBaseUrl: 'http://node/dicomweb' };
const everything = parseQidoQuery([], 100);
const tagsOf = (match: object | undefined): string[] => Object.keys(match ?? {});

describe('QIDO-RS answers across levels carry the higher levels\' required keys (PS3.18 10.6.3.3)', () => {
  test.each([
    ['all series: the study\'s keys too', 'series', {}, ['00100010', '00100020', '00080020', '00080050'], []],
    ['the series of one study: not repeated', 'series', { studyUid: '1.1' }, [], ['00100010']],
    ['all instances: the study\'s and the series\' keys', 'instance', {}, ['00100010', '00080050', '00080060', '00200011'], []],
    ['the instances of one study: the series\' keys only', 'instance', { studyUid: '1.1' }, ['00080060', '00200011'], ['00100010']],
    ['the instances of one series: neither', 'instance', { studyUid: '1.1', seriesUid: '1.1.1' }, [], ['00100010', '00080060']],
  ] as const)('%s', (_what, level, within, present, absent) => {
    const [match] = search(context, level, everything, within).matches;
    expect(tagsOf(match)).toEqual(expect.arrayContaining([...present]));
    for (const tag of absent) expect(tagsOf(match)).not.toContain(tag);
  });
});

test('an instance\'s file row says its Bits Allocated, read from its metadata (what deciding a decode up front needs)', () => {
  expect(db.instanceFilesOf('1.1').map((row) => row.bitsAllocated)).toEqual([16]);
});
