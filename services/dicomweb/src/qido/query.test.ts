import { globOf, parseQidoQuery, QidoQueryError, tagOfField, where } from './query';

const parse = (query: string, max = 100) => parseQidoQuery([...new URLSearchParams(query)], max);

describe('QIDO-RS query parameters → conditions on the index (PS3.18 8.3.4, PS3.4 C.2.2.2)', () => {
  test.each([
    ['a PatientID', 'PatientID=IPP-1', 'study', { sql: 'patient_id = ?', params: ['IPP-1'] }],
    ['a PatientID by tag', '00100020=IPP-1', 'study', { sql: 'patient_id = ?', params: ['IPP-1'] }],
    ['a PatientID with wildcards', 'PatientID=IPP*', 'study', { sql: 'patient_id GLOB ?', params: ['IPP*'] }],
    ['a PatientName, case-insensitive, alphabetic group', 'PatientName=doe^j*', 'study', { sql: 'patient_name_key GLOB ?', params: ['DOE^J*'] }],
    ['a list of StudyInstanceUIDs', 'StudyInstanceUID=1.2.3,1.2.4', 'study', { sql: 'study_uid IN (?, ?)', params: ['1.2.3', '1.2.4'] }],
    ['a StudyDate', 'StudyDate=20240105', 'study', { sql: 'study_date = ?', params: ['20240105'] }],
    ['a StudyDate range', 'StudyDate=20240101-20240131', 'study', { sql: 'study_date >= ? AND study_date <= ?', params: ['20240101', '20240131'] }],
    ['an open StudyDate range', 'StudyDate=-20240131', 'study', { sql: 'study_date <= ?', params: ['20240131'] }],
    ['an AccessionNumber', 'AccessionNumber=A1', 'study', { sql: 'accession = ?', params: ['A1'] }],
    ['a Modality', 'Modality=CT', 'series', { sql: 'modality IN (?)', params: ['CT'] }],
    ['a SeriesNumber', 'SeriesNumber=3', 'series', { sql: 'series_number = ?', params: [3] }],
    ['a SOPInstanceUID', 'SOPInstanceUID=1.2.5', 'instance', { sql: 'sop_uid IN (?)', params: ['1.2.5'] }],
  ] as const)('%s', (_what, query, level, condition) => {
    expect(parse(query).conditions[level]).toEqual([condition]);
  });

  test('an empty value matches everything (universal matching)', () => {
    expect(parse('PatientID=').conditions.study).toEqual([]);
  });

  test('GLOB specials of the value itself are matched literally', () => {
    expect(globOf('A[1]*')).toBe('A[[]1[]]*');
  });

  test.each([
    ['a malformed date', 'StudyDate=2024'],
    ['a date range of three parts', 'StudyDate=20240101-20240102-20240103'],
    ['a UID with letters', 'StudyInstanceUID=1.2.abc'],
    ['a negative limit', 'limit=-1'],
    ['an unknown name', 'NotAKeyword=1'],
    ['an unknown includefield', 'includefield=NotAKeyword'],
  ])('%s: a QidoQueryError (400)', (_what, query) => {
    expect(() => parse(query)).toThrow(QidoQueryError);
  });

  test('an attribute without a column of its own is matched on the JSON its level keeps (./attribute-matching)', () => {
    const query = parse('StudyDescription=CHEST');
    expect(query.conditions.study).toEqual([{ sql: `EXISTS (SELECT 1 FROM json_each(attributes, '$."00081030".Value') WHERE value = ?)`, params: ['CHEST'] }]);
    expect(query.warnings).toEqual([]);
  });

  test('limit above the maximum is lowered, with a warning; offset and includefield kept', () => {
    const query = parse('limit=500&offset=20&includefield=00280030&includefield=Rows', 100);
    expect([query.limit, query.offset]).toEqual([100, 20]);
    expect(query.warnings[0]).toMatch(/limit lowered to 100/);
    expect(query.includeFields).toEqual(['00280030', '00280010']);
    expect(parse('includefield=all').includeFields).toBe('all');
  });

  test('fuzzymatching is not offered: said in a warning', () => {
    expect(parse('fuzzymatching=true').warnings).toEqual(['fuzzymatching is not supported: the query was matched exactly']);
  });

  test('conditions are joined with AND, none is everything', () => {
    expect(where([])).toEqual({ sql: '1', params: [] });
    expect(where([{ sql: 'a = ?', params: [1] }, { sql: 'b = ?', params: [2] }])).toEqual({ sql: '(a = ?) AND (b = ?)', params: [1, 2] });
  });

  test('includefield names are tags or keywords', () => {
    expect(tagOfField('0008103e')).toBe('0008103E');
    expect(tagOfField('SeriesDescription')).toBe('0008103E');
  });
});
