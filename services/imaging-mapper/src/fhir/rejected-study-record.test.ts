import type { StudyRejection } from '@imaging-facade/events';
import type { Basic } from '@medplum/fhirtypes';
import { validateR4 } from '../test-support/fhir-validation';
import { rememberedRejections, withRejections } from './rejected-instances';
import { rejectedStudyRecordEntries, rememberedWith, sameRecords } from './rejected-study-record';

const study = '2.25.100';
const rejections = (...uids: string[]): StudyRejection[] => uids.map((sopInstanceUid) => ({ sopInstanceUid, reason: '113038' }));
const stored = (id: string, ...uids: string[]): Basic => ({
  resourceType: 'Basic',
  id,
  meta: { versionId: '3' },
  extension: withRejections(undefined, rejections(...uids)),
  identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${study}` }],
  code: { coding: [{ system: 'https://imagingfacade.org/fhir/CodeSystem/index-record', code: 'rejected-study' }] },
});

test.each<[string, Basic[], string[], number | undefined]>([
  ['no record yet: a conditional create on identifier and code, which must create', [], ['POST Basic'], 0],
  ['the record says the same: nothing written', [stored('b1', '2.25.1', '2.25.2')], [], undefined],
  ['the record knows fewer: updated by id with If-Match', [stored('b1', '2.25.1')], ['PUT Basic/b1 W/"3"'], undefined],
  ['two records (concurrent first writes): the first says it all, the other goes', [stored('b1', '2.25.1'), stored('b2', '2.25.2')], ['PUT Basic/b1 W/"3"', 'DELETE Basic/b2'], undefined],
])('%s', (_situation, records, requests, create) => {
  const { entries, create: createIndex } = rejectedStudyRecordEntries(study, rejections('2.25.2', '2.25.1'), records);
  expect(entries.map((entry) => [entry.request?.method, entry.request?.url, entry.request?.ifMatch].filter(Boolean).join(' '))).toEqual(requests);
  expect(createIndex).toBe(create);
  for (const entry of entries.filter((item) => item.resource)) {
    expect(rememberedRejections(entry.resource as Basic).map((item) => item.sopInstanceUid)).toEqual(['2.25.1', '2.25.2']);
    expect(validateR4(entry.resource!)).toEqual([]);
  }
  if (create !== undefined) {
    expect(entries[create]?.request?.ifNoneExist).toBe(`identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${study}`)}&code=${encodeURIComponent('https://imagingfacade.org/fhir/CodeSystem/index-record|rejected-study')}`);
  }
});

test('what the study and several records remember is read as one; no record leaves the study\'s memory as it is', () => {
  const study = { extension: withRejections(undefined, rejections('2.25.4')) };
  expect(rememberedRejections(rememberedWith(study, [stored('b1', '2.25.3'), stored('b2', '2.25.1', '2.25.3')])).map((item) => item.sopInstanceUid)).toEqual(['2.25.1', '2.25.3', '2.25.4']);
  expect(rememberedWith(study, [])).toBe(study);
  expect(rememberedWith(undefined, [])).toBeUndefined();
});

test('what a record remembers and the study does not is kept when the record is written again', () => {
  const { entries } = rejectedStudyRecordEntries(study, rejections('2.25.2'), [stored('b1', '2.25.9')]);
  expect(rememberedRejections(entries[0]!.resource as Basic).map((item) => item.sopInstanceUid)).toEqual(['2.25.2', '2.25.9']);
});

test('records read before a write are the same after it only with the same ids at the same versions', () => {
  expect(sameRecords([stored('b1')], [stored('b1')])).toBe(true);
  expect(sameRecords([], [])).toBe(true);
  expect(sameRecords([], [stored('b1')])).toBe(false);
  expect(sameRecords([stored('b1')], [{ ...stored('b1'), meta: { versionId: '4' } }])).toBe(false);
});
