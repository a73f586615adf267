import type { DicomJson } from '@imaging-facade/dicom';
import type { Observation } from '@medplum/fhirtypes';
import { CUMULATIVE_DOSE_CODE, cumulativeDoseObservation, eventsNeeded } from './cumulative-dose';
import { doseObservations } from './dose-mapping';
import { ctReport, mammographyReport, projectionReport } from '../test-support/dose-content';
import { componentValues, doseContext, studyWithReports } from '../test-support/dose-study';
import { validateR4 } from '../test-support/fhir-validation';

/**
 * The cumulative dose of a patient from the dose summaries the mapper writes (built here by the real
 * mapping, then given server ids as HAPI would), one case per situation.
 */

let nextId = 1;
/** The summaries and events of one study as the server returns them. */
function stored(contents: DicomJson[]): { summaries: Observation[]; events: Observation[] } {
  const { groups } = doseObservations(doseContext(studyWithReports(contents)));
  const events = new Map<string, Observation>();
  for (const group of groups) {
    for (const member of group.members) {
      events.set(member.fullUrl, { ...member.resource, id: `e${nextId++}` });
    }
  }
  const summaries = groups.map((group) => ({
    ...group.summary.resource,
    id: `s${nextId++}`,
    hasMember: group.summary.resource.hasMember?.map((member) => ({ ...member, reference: `Observation/${events.get(member.reference!)!.id}` })),
  }));
  return { summaries, events: [...events.values()] };
}

const ct = (uids: string[], dlps: number[], options = {}) => ctReport(uids.map((uid, index) => ({ uid, ctdivol: 10, dlp: dlps[index]! })), options);
const fluoro = (dapGym2: number, fluoroTime: number) =>
  projectionReport([{ dap: dapGym2, doseRp: 0.1, fluoroTime, frames: 3 }], [{ uid: `2.25.${nextId++}`, start: '20240105101600', dap: dapGym2, doseRp: 0.1, fluoro: true }]);

function cumulative(...studies: Array<{ summaries: Observation[]; events: Observation[] }>): Observation | undefined {
  const summaries = studies.flatMap((study) => study.summaries);
  const needed = new Set(eventsNeeded(summaries));
  const events = studies.flatMap((study) => study.events).filter((event) => needed.has(event.identifier![0]!.value!));
  return cumulativeDoseObservation('p1', summaries, events);
}

describe('the cumulative dose of a patient', () => {
  it('adds up, per dose type, the studies of CT, fluoroscopy and mammography; the glandular dose per breast', () => {
    const studies = [
      stored([ct(['1.2.3.1.1', '1.2.3.1.2'], [300, 200.5])]),
      stored([ct(['1.2.3.2.1'], [120.25])]),
      stored([fluoro(0.0013639, 450)]),
      stored([fluoro(0.0001, 30.5)]),
      stored([mammographyReport([{ side: 'left', agd: 1.3 }, { side: 'right', agd: 0.8 }], [])]),
      stored([mammographyReport([{ side: 'left', agd: 1.1 }], [])]),
    ];
    const observation = cumulative(...studies)!;
    expect(componentValues(observation)).toEqual({
      '113813': '620.75 mGy.cm',
      '113722': '14639 mGy.cm2',
      '113730': '480.5 s',
      'Accumulated Average Glandular Dose, left breast': '2.4 mGy',
      'Accumulated Average Glandular Dose, right breast': '0.8 mGy',
    });
    expect(observation.valueString).toBe('CT DLP = 620.75 mGy.cm, DAP = 14639 mGy.cm2, Fluoro time = 480.5 s, AGD left breast = 2.4 mGy, AGD right breast = 0.8 mGy; over 6 studies');
    expect(observation.code.coding).toEqual([CUMULATIVE_DOSE_CODE]);
    expect(observation.subject).toEqual({ reference: 'Patient/p1' });
    expect(observation.identifier).toEqual([{ system: 'https://imagingfacade.org/fhir/sid/cumulative-radiation-dose', value: 'Patient/p1' }]);
    expect(observation.derivedFrom).toHaveLength(6);
    expect(observation.partOf).toBeUndefined();
    expect(validateR4(observation)).toEqual([]);
  });

  it('is the same whatever order the server returns the summaries in', () => {
    const studies = [stored([ct(['1.2.3.3.1'], [10])]), stored([fluoro(0.0002, 12)]), stored([ct(['1.2.3.4.1'], [20])])];
    expect(cumulative(...[...studies].reverse())).toEqual(cumulative(...studies));
  });

  it.each([
    ['a partial report and the complete one (same events and more)', [ct(['1.2.3.5.1'], [100]), ct(['1.2.3.5.1', '1.2.3.5.2'], [100, 50])], '150 mGy.cm', 1],
    ['the same report sent twice as two objects', [ct(['1.2.3.6.1', '1.2.3.6.2'], [100, 50]), ct(['1.2.3.6.1', '1.2.3.6.2'], [100, 50])], '150 mGy.cm', 1],
    ['two sessions, no common event', [ct(['1.2.3.7.1'], [100]), ct(['1.2.3.7.2'], [50])], '150 mGy.cm', 2],
    ['two reports sharing one event of three: each event once', [ct(['1.2.3.8.1', '1.2.3.8.2'], [100, 50]), ct(['1.2.3.8.2', '1.2.3.8.3'], [50, 25])], '175 mGy.cm', 2],
  ])('a study whose dose is split over several SR objects: %s', (_situation, contents, dlp, counted) => {
    const observation = cumulative(stored(contents))!;
    expect(componentValues(observation)['113813']).toBe(dlp);
    expect(observation.derivedFrom).toHaveLength(counted);
    expect(observation.valueString).toMatch(/over 1 study$/);
  });

  it('a study whose dose value is in a unit not understood: not in the sums, and a note says so', () => {
    const good = stored([ct(['1.2.3.9.1'], [100])]);
    const odd = stored([ct(['1.2.3.9.2'], [50], { unitScheme: '99GEMS' })]);
    const observation = cumulative(good, odd)!;
    expect(componentValues(observation)['113813']).toBe('100 mGy.cm');
    expect(observation.note?.map((note) => note.text)).toEqual([expect.stringMatching(/^ImagingStudy\/.*: a value of its dose report is in a unit not understood/)]);
  });

  it('no study with a dose value of these types: no Observation', () => {
    expect(cumulative()).toBeUndefined();
    expect(cumulative(stored([ct(['1.2.3.10.1'], [5], { unitScheme: '99GEMS', accumulated: false })]))).toBeUndefined();
  });
});
