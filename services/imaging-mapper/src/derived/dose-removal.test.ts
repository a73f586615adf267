import type { BundleEntry, Observation } from '@medplum/fhirtypes';
import type { FhirPort } from '../fhir/fhir-lookups';
import { fakeFhirPort } from '../test-support/fake-fhir-port';
import type { DoseGroup, PlannedObservation } from './dose-mapping';
import { doseRemovalEntries, rejectedDoseDeletions } from './dose-removal';

const STUDY = 'ImagingStudy/st1';

/** A stored dose Observation: its id, its identifier value, the members it references. */
const stored = (id: string, value: string, members: string[] = [], study = STUDY): Observation => ({
  resourceType: 'Observation',
  id,
  meta: { versionId: '3' },
  status: 'final',
  code: { text: id },
  identifier: [{ system: 'urn:dicom:uid', value }],
  subject: { reference: study === STUDY ? 'Patient/p1' : 'Patient/p2' },
  partOf: [{ reference: study }],
  focus: [{ reference: study }],
  ...(study === STUDY ? {} : { basedOn: [{ type: 'ServiceRequest', identifier: { value: 'ACC-2' } }] }),
  ...(members.length > 0 ? { hasMember: members.map((member) => ({ reference: `Observation/${member}` })) } : {}),
});
const plannedOf = (value: string): PlannedObservation => ({ resource: { resourceType: 'Observation', status: 'final', code: { text: value }, identifier: [{ system: 'urn:dicom:uid', value }] }, search: {}, fullUrl: `urn:uuid:${value}` });
const group = (summary: string, ...members: string[]): DoseGroup => ({ summary: plannedOf(summary), members: members.map(plannedOf) });

/** A FHIR port: `part-of` finds the study's dose Observations, `has-member` the summaries referencing any of the given ones. */
function fhirWith(ofStudy: Observation[], elsewhere: Observation[] = []) {
  const searches: Record<string, string>[] = [];
  const all = [...ofStudy, ...elsewhere];
  const port = fakeFhirPort({
    search: (async (_type: string, params: Record<string, string>) => {
      searches.push(params);
      if (params['part-of']) return params['part-of'].split(',').includes(STUDY) ? ofStudy : [];
      const asked = (params['has-member'] ?? '').split(',');
      return all.filter((item) => item.hasMember?.some((member) => asked.includes(member.reference ?? '')));
    }) as FhirPort['search'],
    transaction: async () => ({ resourceType: 'Bundle', type: 'transaction-response' }),
  });
  return { port, searches };
}

const report = [stored('s1', 'urn:oid:sop-report', ['e1', 'e2']), stored('e1', 'urn:oid:event-1'), stored('e2', 'urn:oid:event-2')];
const headers = [stored('h', 'urn:oid:study', ['m1', 'm2']), stored('m1', 'urn:oid:series-1'), stored('m2', 'urn:oid:series-2')];

/** An entry as a request line; an update with the study, patient and order its resource now gives. */
const line = (entry: BundleEntry): string => {
  const request = `${entry.request?.method} ${entry.request?.url}`;
  const resource = entry.resource as Observation | undefined;
  return resource
    ? `${request} (If-Match ${entry.request?.ifMatch}): ${resource.partOf?.[0]?.reference}, ${resource.focus?.[0]?.reference}, ${resource.subject?.reference}, ${resource.basedOn?.[0]?.identifier?.value}`
    : request;
};
const OTHER = 'ImagingStudy/st2';
const moved = (id: string) => `PUT Observation/${id} (If-Match W/"3"): ${OTHER}, ${OTHER}, Patient/p2, ACC-2`;

/** What the note rejects: SOP Instance UIDs, and the stored series whose every image it rejects. */
const rejecting = (uids: string[], series: string[] = []) => ({ uids: new Set(uids), series: new Set(series) });

test.each<[string, Observation[], Observation[], DoseGroup[], ReturnType<typeof rejecting>, string[]]>([
  ['what is stored is still planned: nothing deleted', report, [], [group('urn:oid:sop-report', 'urn:oid:event-1', 'urn:oid:event-2')], rejecting(['sop-report']), []],
  ['a rejected report: its summary and its events', report, [], [], rejecting(['sop-report']), ['DELETE Observation/s1', 'DELETE Observation/e1', 'DELETE Observation/e2']],
  [
    "an event another study's summary still reports stays, and now belongs to that study",
    report,
    [stored('o1', 'urn:oid:other-report', ['e2'], OTHER)],
    [],
    rejecting(['sop-report']),
    ['DELETE Observation/s1', 'DELETE Observation/e1', moved('e2')],
  ],
  ["a report the snapshot does not plan but nothing rejects (another node's, which it does not hold): kept", report, [], [], rejecting(['an-image']), []],
  [
    "an event another report of the study still lists (another node's, kept as it is): kept as it is",
    [...report, stored('s2', 'urn:oid:complete-report', ['e2'])],
    [],
    [],
    rejecting(['sop-report']),
    ['DELETE Observation/s1', 'DELETE Observation/e1'],
  ],
  [
    'rejected CT images: the Mean CTDIvol of the series they emptied; the summary, written anew, stays',
    headers,
    [],
    [group('urn:oid:study', 'urn:oid:series-1')],
    rejecting(['image-2a', 'image-2b'], ['series-2']),
    ['DELETE Observation/m2'],
  ],
  ['every CT image rejected: the summary and every series value', headers, [], [], rejecting(['image-1', 'image-2'], ['series-1', 'series-2']), ['DELETE Observation/h', 'DELETE Observation/m1', 'DELETE Observation/m2']],
])('a rejection: %s', async (_situation, ofStudy, elsewhere, planned, rejected, requests) => {
  const fhir = fhirWith(ofStudy, elsewhere);
  const entries = await rejectedDoseDeletions(fhir.port, STUDY, planned, rejected.uids, rejected.series);
  expect(entries.map(line)).toEqual(requests);
});

test.each<[string, Observation[], Observation[], string[]]>([
  ['a withdrawal: every dose Observation of the study goes', report, [], ['DELETE Observation/s1', 'DELETE Observation/e1', 'DELETE Observation/e2']],
  [
    "a withdrawal: events another study's summary reports stay, with that study (the first summary found)",
    report,
    [stored('o1', 'urn:oid:other-report', ['e1', 'e2'], OTHER), stored('o2', 'urn:oid:third-report', ['e2'], 'ImagingStudy/st3')],
    ['DELETE Observation/s1', moved('e1'), moved('e2')],
  ],
  ['a withdrawal of a study without dose: nothing', [], [], []],
])('%s', async (_situation, ofStudy, elsewhere, requests) => {
  const fhir = fhirWith(ofStudy, elsewhere);
  expect((await doseRemovalEntries(fhir.port, [STUDY], () => true)).map(line)).toEqual(requests);
});

test('a summary of a study removed in the same transaction (a duplicate ImagingStudy) keeps no event', async () => {
  const duplicate = 'ImagingStudy/st1b';
  const fhir = fhirWith([...report, stored('d1', 'urn:oid:duplicate-report', ['e1'], duplicate)]);
  expect((await doseRemovalEntries(fhir.port, [STUDY, duplicate], () => true)).map(line)).toEqual([
    'DELETE Observation/s1',
    'DELETE Observation/e1',
    'DELETE Observation/e2',
    'DELETE Observation/d1',
  ]);
  expect(fhir.searches[0]).toEqual({ 'part-of': `${STUDY},${duplicate}`, _count: '200' });
});

test('asks which summaries reference the stale Observations 40 at a time', async () => {
  const many = Array.from({ length: 85 }, (_, index) => stored(`e${index}`, `urn:oid:event-${index}`));
  const fhir = fhirWith([stored('s', 'urn:oid:sop-report', many.map((event) => event.id!)), ...many]);
  expect(await rejectedDoseDeletions(fhir.port, STUDY, [], new Set(['sop-report']), new Set())).toHaveLength(86);
  expect(fhir.searches.filter((params) => params['has-member']).map((params) => params['has-member']?.split(',').length)).toEqual([40, 40, 6]);
});
