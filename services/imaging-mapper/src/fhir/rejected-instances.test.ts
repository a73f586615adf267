import type { StudyCompletedV1Data } from '@imaging-facade/events';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { studySnapshot } from '../test-support/study-events';
import { REJECTED_INSTANCE_URL, rememberedRejections, withoutRememberedRejections, withRejections } from './rejected-instances';

const remembered = (...items: Array<[string, string]>): ImagingStudy => ({
  resourceType: 'ImagingStudy',
  status: 'available',
  subject: {},
  extension: [{ url: 'https://imagingfacade.org/fhir/StructureDefinition/subject-as-of', valueDateTime: '2024-01-05T10:00:00.000Z' }, ...(withRejections(undefined, items.map(([sopInstanceUid, reason]) => ({ sopInstanceUid, reason }))) ?? [])],
});
const snapshot = studySnapshot({ series: [{ instances: 2 }, { instances: 1 }] });
const [first, second] = snapshot.series.map((series) => series.instances.map((instance) => instance.sopInstanceUid)) as [string[], string[]];
const listed = (data: StudyCompletedV1Data) => data.series.map((series) => series.instances.map((instance) => instance.sopInstanceUid));

test.each<[string, ImagingStudy | undefined, string[][], Array<[string, string]> | undefined]>([
  ['a new study: the snapshot as it is', undefined, [first, second], undefined],
  ['a study that remembers no rejection: the snapshot as it is', remembered(), [first, second], undefined],
  ['an instance another node\'s note rejected: left out, and named rejected', remembered([first[0]!, '113037']), [[first[1]!], second], [[first[0]!, '113037']]],
  ['every instance of a series rejected: the series is dropped', remembered([second[0]!, '113001']), [first], [[second[0]!, '113001']]],
  ['a rejection of an instance this snapshot does not list: nothing left out, still named', remembered(['1.2.3.4', '113038']), [first, second], [['1.2.3.4', '113038']]],
])('%s', (_situation, study, series, rejected) => {
  const effective = withoutRememberedRejections(snapshot, study);
  expect(listed(effective)).toEqual(series);
  expect(effective.rejected?.map((item) => [item.sopInstanceUid, item.reason])).toEqual(rejected);
});

test('the snapshot\'s own rejections are added to those remembered, each instance once, other extensions kept', () => {
  const study = remembered(['2.25.2', '113001']);
  const extensions = withRejections(study.extension, [{ sopInstanceUid: '2.25.1', reason: '113037' }, { sopInstanceUid: '2.25.2', reason: '113001' }]);
  expect(extensions?.[0]?.url).toBe('https://imagingfacade.org/fhir/StructureDefinition/subject-as-of');
  expect(extensions?.filter((extension) => extension.url === REJECTED_INSTANCE_URL)).toHaveLength(2);
  expect(rememberedRejections({ ...study, extension: extensions })).toEqual([
    { sopInstanceUid: '2.25.1', reason: '113037' },
    { sopInstanceUid: '2.25.2', reason: '113001' },
  ]);
  expect(extensions?.[1]).toEqual({
    url: REJECTED_INSTANCE_URL,
    extension: [
      { url: 'instance', valueIdentifier: { system: 'urn:dicom:uid', value: 'urn:oid:2.25.1' } },
      { url: 'reason', valueCoding: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '113037', display: 'Rejected for Patient Safety Reasons' } },
    ],
  });
  expect(withRejections(undefined, undefined)).toBeUndefined();
});
