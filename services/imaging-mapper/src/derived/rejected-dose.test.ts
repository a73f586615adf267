import type { Observation } from '@medplum/fhirtypes';
import type { FhirPort } from '../fhir/fhir-lookups';
import type { DoseGroup } from './dose-mapping';
import { rejectedDoseDeletions } from './rejected-dose';

const event = (value: string) => ({ system: 'urn:dicom:uid', value });

/** A FHIR port whose Observation searches find `stored`, recording the searches. */
function fhirWith(stored: Observation[]) {
  const searches: Record<string, string>[] = [];
  const port = {
    search: async (_type: string, params: Record<string, string>) => {
      searches.push(params);
      return stored;
    },
    transaction: async () => ({ resourceType: 'Bundle', type: 'transaction-response' }),
  } as unknown as FhirPort;
  return { port, searches };
}

const summary: Observation = {
  resourceType: 'Observation',
  id: 's1',
  status: 'final',
  code: { text: 'summary' },
  hasMember: [
    { reference: 'Observation/e1', identifier: event('urn:oid:2.25.11') },
    { reference: 'Observation/e2', identifier: event('urn:oid:2.25.12') },
  ],
};

/** A group written now whose summary references the event `value`. */
const writtenWith = (value: string): DoseGroup => ({
  summary: { resource: { resourceType: 'Observation', status: 'final', code: { text: 'other summary' } }, search: {}, fullUrl: 'urn:uuid:s2' },
  members: [{ resource: { resourceType: 'Observation', status: 'final', code: { text: 'event' }, identifier: [event(value)] }, search: {}, fullUrl: 'urn:uuid:e' }],
});

test.each<[string, string[], DoseGroup[], string[]]>([
  ['nothing rejected: no search, nothing deleted', [], [], []],
  ['a rejected report: its summary and its events', ['2.25.1'], [], ['Observation/s1', 'Observation/e1', 'Observation/e2']],
  ['an event another report still reports is kept', ['2.25.1'], [writtenWith('urn:oid:2.25.12')], ['Observation/s1', 'Observation/e1']],
])('%s', async (_situation, rejected, written, deleted) => {
  const fhir = fhirWith(rejected.length > 0 ? [summary] : []);
  const entries = await rejectedDoseDeletions(fhir.port, rejected, written);
  expect(entries.map((entry) => `${entry.request?.method} ${entry.request?.url}`)).toEqual(deleted.map((url) => `DELETE ${url}`));
  expect(fhir.searches).toHaveLength(rejected.length > 0 ? 1 : 0);
});

test('searches by the rejected SOP Instance UIDs, 40 at a time, for dose summaries only', async () => {
  const fhir = fhirWith([]);
  const rejected = Array.from({ length: 85 }, (_, index) => `2.25.${index + 1}`);
  expect(await rejectedDoseDeletions(fhir.port, rejected, [])).toEqual([]);
  expect(fhir.searches.map((params) => params.identifier?.split(',').length)).toEqual([40, 40, 5]);
  expect(fhir.searches[0]?.identifier?.split(',')[0]).toBe('urn:dicom:uid|urn:oid:2.25.1');
  expect(fhir.searches[0]?.code).toBe('http://loinc.org|73569-6');
});
