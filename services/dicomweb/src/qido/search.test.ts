import Database from 'better-sqlite3';
import type { DicomJson } from '@imaging-facade/dicom';
import { LISTED, StudyIndexDb } from '../index/study-index-db';
import { parseQidoQuery, where, type Level } from './query';
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

/**
 * A node's index of many studies, some of them hidden from a token: another patient's (every 4th,
 * from the 2nd), refused by consent (every 4th, from the 3rd). Every 3rd study holds a validated
 * report (what a GP's token waits for). Dates repeat and some are missing, as do series and
 * instance numbers, so that the listing order is the index's, not the UIDs'.
 */
const P1 = { system: 's', value: 'P1' };
function manyStudies(studies: number, seriesPerStudy: number, instancesPerSeries: number): { db: StudyIndexDb; refused: Set<string>; reported: Set<string>; otherPatient: Set<string> } {
  const many = new StudyIndexDb(':memory:');
  const refused = new Set<string>();
  const reported = new Set<string>();
  const otherPatient = new Set<string>();
  for (let s = 0; s < studies; s += 1) {
    const studyUid = `2.${s + 1}`;
    const patient = s % 4 === 1 ? 'P2' : 'P1';
    if (patient === 'P2') otherPatient.add(studyUid);
    if (s % 4 === 2) refused.add(studyUid);
    const studyDate = s % 5 === 4 ? null : `202401${String(10 + (s % 7))}`;
    const series = Array.from({ length: seriesPerStudy }, (_, r) => ({
      studyUid,
      seriesUid: `${studyUid}.${r + 1}`,
      modality: r % 2 === 0 ? 'CT' : 'MR',
      seriesNumber: r === 1 ? null : seriesPerStudy - r,
      numberOfInstances: instancesPerSeries,
      attributes: JSON.stringify({ '00080060': { vr: 'CS', Value: [r % 2 === 0 ? 'CT' : 'MR'] }, '0008103E': { vr: 'LO', Value: [`series ${r + 1}`] } }),
    }));
    const instances = series.flatMap((one) =>
      Array.from({ length: instancesPerSeries }, (_, i) => {
        const sopUid = `${one.seriesUid}.${i + 1}`;
        return {
          studyUid,
          seriesUid: one.seriesUid,
          sopUid,
          sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
          instanceNumber: i % 3 === 2 ? null : instancesPerSeries - i,
          transferSyntaxUid: '1.2.840.10008.1.2.1',
          storagePath: sopUid,
          sizeBytes: 1,
          metadata: JSON.stringify({ '00080018': { vr: 'UI', Value: [sopUid] }, '00280010': { vr: 'US', Value: [512] } }),
        };
      }),
    );
    if (s % 3 === 0) {
      reported.add(studyUid);
      const sopUid = `${studyUid}.99.1`;
      series.push({ studyUid, seriesUid: `${studyUid}.99`, modality: 'SR', seriesNumber: 99, numberOfInstances: 1, attributes: JSON.stringify({ '00080060': { vr: 'CS', Value: ['SR'] } }) });
      instances.push({
        studyUid,
        seriesUid: `${studyUid}.99`,
        sopUid,
        sopClassUid: '1.2.840.10008.5.1.4.1.1.88.11',
        instanceNumber: 1,
        transferSyntaxUid: '1.2.840.10008.1.2.1',
        storagePath: sopUid,
        sizeBytes: 1,
        metadata: JSON.stringify({ '00080018': { vr: 'UI', Value: [sopUid] }, '0040A491': { vr: 'CS', Value: ['COMPLETE'] }, '0040A493': { vr: 'CS', Value: ['VERIFIED'] } }),
      });
    }
    many.replaceStudy({
      study: {
        studyUid,
        patientSystem: 's',
        patientValue: patient,
        patientId: patient,
        patientNameKey: null,
        studyDate,
        accession: `A${s + 1}`,
        modalities: 'CT\\MR',
        numberOfSeries: series.length,
        numberOfInstances: instances.length,
        attributes: JSON.stringify({ '00100020': { vr: 'LO', Value: [patient] }, '00080050': { vr: 'SH', Value: [`A${s + 1}`] }, ...(studyDate ? { '00080020': { vr: 'DA', Value: [studyDate] } } : {}) }),
      },
      series,
      instances,
    });
  }
  return { db: many, refused, reported, otherPatient };
}

const uidAt = (match: DicomJson, tag: string): string => String(match[tag]?.Value?.[0]);
const IDENTITY = { study: '0020000D', series: '0020000E', instance: '00080018' } as const;

describe('QIDO-RS pages are cut after the access rule, as before reading only what they return', () => {
  const fixture = manyStudies(13, 3, 4);
  afterAll(() => fixture.db.close());
  const base = 'http://node/dicomweb';
  const consent = { consentShares: (study: { studyInstanceUid: string }) => !fixture.refused.has(study.studyInstanceUid) };
  const scopes = {
    clinician: { kind: 'all' },
    'patient P1': { kind: 'patient', identifiers: [P1] },
    GP: { kind: 'all', reportedOnly: true },
  } satisfies Record<string, SearchContext['scope']>;
  /** The access rule, said independently of the code under test. */
  const sees = (scope: keyof typeof scopes, studyUid: string): boolean =>
    !fixture.refused.has(studyUid) && (scope !== 'patient P1' || !fixture.otherPatient.has(studyUid)) && (scope !== 'GP' || fixture.reported.has(studyUid));
  const seeingAll: SearchContext = { db: fixture.db, access: { consentShares: () => true }, scope: { kind: 'all' }, publicBaseUrl: base };
  const pages: Array<[offset: number, limit: number]> = [[0, 1000], [0, 0], [0, 1], [1, 2], [2, 3], [5, 1], [7, 4], [13, 1], [40, 5], [150, 1], [999999, 1], [999999, 1000]];
  const searches: Array<[Level, { studyUid?: string; seriesUid?: string }, Array<[string, string]>]> = [
    ['study', {}, []],
    ['study', {}, [['ModalitiesInStudy', 'SR']]],
    ['series', {}, []],
    ['series', {}, [['Modality', 'MR']]],
    ['series', { studyUid: '2.5' }, []],
    ['series', { studyUid: '2.3' }, []],
    ['instance', {}, []],
    ['instance', {}, [['Modality', 'CT'], ['InstanceNumber', '4']]],
    ['instance', { studyUid: '2.1' }, []],
    ['instance', { studyUid: '2.4', seriesUid: '2.4.2' }, []],
  ];

  test.each(searches)('the unrestricted answer at %s level %j %j lists the index\'s rows in its order', (level, within, params) => {
    const matches = search(seeingAll, level, parseQidoQuery(params, 100_000), within).matches;
    const { conditions } = parseQidoQuery(params, 100_000);
    const inPath = [...(within.studyUid ? [{ sql: 'study_uid = ?', params: [within.studyUid] }] : []), ...(within.seriesUid ? [{ sql: 'series_uid = ?', params: [within.seriesUid] }] : [])];
    const seriesOk = (row: { studyUid: string; seriesUid: string }) => fixture.db.findSeries(where([...conditions.series, { sql: 'study_uid = ? AND series_uid = ?', params: [row.studyUid, row.seriesUid] }])).length > 0;
    const rows =
      level === 'study'
        ? fixture.db.findStudies(where([...conditions.study, ...inPath])).map((row) => row.studyUid)
        : level === 'series'
          ? fixture.db.findSeries(where([...conditions.series, LISTED, ...inPath])).map((row) => row.seriesUid)
          : fixture.db.findInstances(where([...conditions.instance, LISTED, ...inPath])).filter(seriesOk).map((row) => row.sopUid);
    if (level === 'study' && params.length > 0) {
      // ModalitiesInStudy=SR: the reported studies only.
      expect(matches.map((match) => uidAt(match, IDENTITY.study))).toEqual(rows.filter((uid) => fixture.reported.has(uid)));
    } else {
      expect(matches.map((match) => uidAt(match, IDENTITY[level]))).toEqual(rows);
    }
    expect(matches.length).toBeGreaterThan(0);
  });

  describe.each(Object.keys(scopes) as Array<keyof typeof scopes>)('for a %s token, with hidden studies between those it sees', (scope) => {
    const context: SearchContext = { db: fixture.db, access: consent, scope: scopes[scope], publicBaseUrl: base };
    test.each(searches)('%s level %j %j: every offset and limit answers the visible matches\' slice, and audits their studies', (level, within, params) => {
      const unrestricted = search(seeingAll, level, parseQidoQuery(params, 100_000), within).matches;
      const visible = unrestricted.filter((match) => sees(scope, uidAt(match, IDENTITY.study)));
      for (const [offset, limit] of pages) {
        const query = parseQidoQuery([...params, ['offset', String(offset)], ['limit', String(limit)]], 1000);
        const result = search(context, level, query, within);
        const expected = visible.slice(offset, offset + limit);
        expect({ offset, limit, matches: result.matches }).toEqual({ offset, limit, matches: expected });
        const studies = [...new Set(expected.map((match) => uidAt(match, IDENTITY.study)))];
        expect({ offset, limit, studies: result.studies }).toEqual({ offset, limit, studies: studies.map((uid) => fixture.db.study(uid)) });
      }
    });
  });

  test('a limit above the server\'s most is lowered, with a warning, and the page is that long', () => {
    const query = parseQidoQuery([['limit', '5000']], 10);
    expect([query.limit, query.warnings]).toEqual([10, ['limit lowered to 10, the most this server returns at once']]);
    expect(search(seeingAll, 'instance', query).matches).toHaveLength(10);
  });

  test('a GP\'s token: a report is validated by its two flags, read without parsing its metadata', () => {
    expect(['2.1', '2.2', '2.4'].map((uid) => fixture.db.holdsValidatedReport(uid))).toEqual([true, false, true]);
  });
});

/** Counts the index rows read with their attributes or metadata (what a page must not read beyond its own), and JSON.parse calls. */
function countingReads(): { reads: { metadata: number; attributes: number; parsed: number }; restore: () => void } {
  const reads = { metadata: 0, attributes: 0, parsed: 0 };
  const count = (row: unknown): void => {
    if (typeof row !== 'object' || row === null) return;
    if ('metadata' in row) reads.metadata += 1;
    if ('attributes' in row) reads.attributes += 1;
  };
  const probe = new Database(':memory:');
  const statement = Object.getPrototypeOf(probe.prepare('SELECT 1')) as { all: (...args: unknown[]) => unknown[]; get: (...args: unknown[]) => unknown; iterate: (...args: unknown[]) => Iterable<unknown> };
  probe.close();
  const { all, get, iterate } = statement;
  const parse = JSON.parse;
  const spies = [
    jest.spyOn(statement, 'all').mockImplementation(function (this: unknown, ...args) {
      const rows = all.apply(this, args);
      rows.forEach(count);
      return rows;
    }),
    jest.spyOn(statement, 'get').mockImplementation(function (this: unknown, ...args) {
      const row = get.apply(this, args);
      count(row);
      return row;
    }),
    jest.spyOn(statement, 'iterate').mockImplementation(function* (this: unknown, ...args) {
      for (const row of iterate.apply(this, args)) {
        count(row);
        yield row;
      }
    }),
    jest.spyOn(JSON, 'parse').mockImplementation((...args: Parameters<typeof JSON.parse>) => {
      reads.parsed += 1;
      return parse(...args) as unknown;
    }),
  ];
  return { reads, restore: () => spies.forEach((spy) => spy.mockRestore()) };
}

describe('a QIDO-RS page reads the index rows it returns, not the index (bounded work per page)', () => {
  // 120 studies of 3 series of 8 instances: 2,880 instances and 40 reports; half the studies hidden
  // from a clinician's token or a patient's.
  const fixture = manyStudies(120, 3, 8);
  afterAll(() => fixture.db.close());
  const consent = { consentShares: (study: { studyInstanceUid: string }) => !fixture.refused.has(study.studyInstanceUid) };
  const scopes = { clinician: { kind: 'all' }, 'patient P1': { kind: 'patient', identifiers: [P1] } } satisfies Record<string, SearchContext['scope']>;

  test.each([
    ['study', 'clinician', 999_999],
    ['study', 'clinician', 50],
    ['series', 'clinician', 999_999],
    ['series', 'patient P1', 150],
    ['instance', 'clinician', 999_999],
    ['instance', 'clinician', 1500],
    ['instance', 'patient P1', 999_999],
    ['instance', 'patient P1', 1200],
  ] as const)('%s level, %s token, limit=1&offset=%d: only the returned rows (and their study and series) are read with their JSON', (level, scope, offset) => {
    const context: SearchContext = { db: fixture.db, access: consent, scope: scopes[scope], publicBaseUrl: 'http://node/dicomweb' };
    const query = parseQidoQuery([['limit', '1'], ['offset', String(offset)]], 1000);
    const counting = countingReads();
    let result;
    try {
      result = search(context, level, query);
    } finally {
      counting.restore();
    }
    const returned = result.matches.length;
    expect(returned).toBe(offset === 999_999 ? 0 : 1);
    // An instance's metadata is read only for an instance returned; a study's or a series'
    // attributes only for a match returned (its own, its study's, its series').
    expect(counting.reads.metadata).toBe(level === 'instance' ? returned : 0);
    expect(counting.reads.attributes).toBeLessThanOrEqual(2 * returned);
    expect(counting.reads.parsed).toBeLessThanOrEqual(3 * returned);
  });

  test('a GP\'s token, paging far: the reports met are checked by their flags, no metadata is read or parsed whole', () => {
    const context: SearchContext = { db: fixture.db, access: consent, scope: { kind: 'all', reportedOnly: true }, publicBaseUrl: 'http://node/dicomweb' };
    const counting = countingReads();
    let result;
    try {
      result = search(context, 'instance', parseQidoQuery([['limit', '1'], ['offset', '999999']], 1000));
    } finally {
      counting.restore();
    }
    expect(result.matches).toEqual([]);
    expect([counting.reads.metadata, counting.reads.attributes]).toEqual([0, 0]);
    // Two small flags of each report of the studies met, never a whole instance's metadata.
    expect(counting.reads.parsed).toBeLessThanOrEqual(2 * fixture.reported.size);
  });
});
