import type { Observation } from '@medplum/fhirtypes';
import type { FhirPort } from '../fhir/fhir-lookups';
import type { DoseGroup, PlannedObservation } from './dose-mapping';
import { rejectedDoseDeletions } from './rejected-dose';

const STUDY = 'ImagingStudy/st1';

/** A stored dose Observation: its id, its identifier value, the members it references. */
const stored = (id: string, value: string, members: string[] = []): Observation => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { text: id },
  identifier: [{ system: 'urn:dicom:uid', value }],
  ...(members.length > 0 ? { hasMember: members.map((member) => ({ reference: `Observation/${member}` })) } : {}),
});
const plannedOf = (value: string): PlannedObservation => ({ resource: { resourceType: 'Observation', status: 'final', code: { text: value }, identifier: [{ system: 'urn:dicom:uid', value }] }, search: {}, fullUrl: `urn:uuid:${value}` });
const group = (summary: string, ...members: string[]): DoseGroup => ({ summary: plannedOf(summary), members: members.map(plannedOf) });

/** A FHIR port: `part-of` finds the study's dose Observations, `has-member` the summaries referencing any of the given ones. */
function fhirWith(ofStudy: Observation[], elsewhere: Observation[] = []) {
  const searches: Record<string, string>[] = [];
  const all = [...ofStudy, ...elsewhere];
  const port = {
    search: async (_type: string, params: Record<string, string>) => {
      searches.push(params);
      if (params['part-of']) return params['part-of'] === STUDY ? ofStudy : [];
      const asked = (params['has-member'] ?? '').split(',');
      return all.filter((item) => item.hasMember?.some((member) => asked.includes(member.reference ?? '')));
    },
    transaction: async () => ({ resourceType: 'Bundle', type: 'transaction-response' }),
  } as unknown as FhirPort;
  return { port, searches };
}

const report = [stored('s1', 'urn:oid:sop-report', ['e1', 'e2']), stored('e1', 'urn:oid:event-1'), stored('e2', 'urn:oid:event-2')];
const headers = [stored('h', 'urn:oid:study', ['m1', 'm2']), stored('m1', 'urn:oid:series-1'), stored('m2', 'urn:oid:series-2')];

test.each<[string, Observation[], Observation[], DoseGroup[], string[]]>([
  ['what is stored is still planned: nothing deleted', report, [], [group('urn:oid:sop-report', 'urn:oid:event-1', 'urn:oid:event-2')], []],
  ['a rejected report: its summary and its events', report, [], [], ['s1', 'e1', 'e2']],
  ['an event another study\'s summary still reports is kept', report, [stored('o1', 'urn:oid:other-report', ['e2'])], [], ['s1', 'e1']],
  ['rejected CT images: the Mean CTDIvol of their series; the summary, written anew, stays', headers, [], [group('urn:oid:study', 'urn:oid:series-1')], ['m2']],
  ['every CT image rejected: the summary and every series value', headers, [], [], ['h', 'm1', 'm2']],
])('%s', async (_situation, ofStudy, elsewhere, planned, deleted) => {
  const fhir = fhirWith(ofStudy, elsewhere);
  const entries = await rejectedDoseDeletions(fhir.port, STUDY, planned);
  expect(entries.map((entry) => `${entry.request?.method} ${entry.request?.url}`)).toEqual(deleted.map((id) => `DELETE Observation/${id}`));
});

test('asks which summaries reference the stale Observations 40 at a time', async () => {
  const many = Array.from({ length: 85 }, (_, index) => stored(`e${index}`, `urn:oid:event-${index}`));
  const fhir = fhirWith(many);
  expect(await rejectedDoseDeletions(fhir.port, STUDY, [])).toHaveLength(85);
  expect(fhir.searches.filter((params) => params['has-member']).map((params) => params['has-member']?.split(',').length)).toEqual([40, 40, 5]);
});
