import type { ConsentDecision, PatientIdentifier } from '@imaging-facade/events';
import type { PatientConsentState } from '@imaging-facade/consent';
import { consentRulesFrom } from './consent-view-rules';
import { createLogger } from '@imaging-facade/service-kit';
import { LinkedDecisions, withLinkedDecisions } from './linked-decisions';

async function eventually(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const HOSPITAL = (value: string): PatientIdentifier => ({ system: 'urn:oid:1.2.250.1.999.1', value });
const REGIONAL = (value: string): PatientIdentifier => ({ system: 'urn:oid:1.2.250.1.213.1.4.10', value });
const key = (identifier: PatientIdentifier) => `${identifier.system}|${identifier.value}`;

/** The index's Patient records; every search is recorded (the identifiers asked at once). */
function index(records: PatientIdentifier[][]) {
  const searches: string[][] = [];
  const search = async (asked: readonly PatientIdentifier[]) => {
    searches.push(asked.map(key));
    return records.filter((record) => record.some((identifier) => asked.some((one) => key(one) === key(identifier))));
  };
  return { search, searches };
}

const refusal: ConsentDecision = { scope: 'patient', provision: 'deny', consentId: 'c1', recordedAt: '2026-01-01T00:00:00Z', recordedBy: 'desk' };

describe('LinkedDecisions: a decision kept under another identifier of the same record', () => {
  test.each<[string, PatientIdentifier[][], string[], PatientIdentifier[], PatientIdentifier[]]>([
    ['a record holding both: the regional identifier is linked to the hospital one', [[HOSPITAL('H1'), REGIONAL('R1')]], [key(REGIONAL('R1'))], [HOSPITAL('H1')], [HOSPITAL('H1'), REGIONAL('R1')]],
    ['no record holds them together: nothing linked', [[HOSPITAL('H1')], [REGIONAL('R1')]], [key(REGIONAL('R1'))], [HOSPITAL('H1')], [HOSPITAL('H1')]],
    ['a patient without decision links nothing (only decisions are read from)', [[HOSPITAL('H1'), REGIONAL('R1')]], [], [HOSPITAL('H1')], [HOSPITAL('H1')]],
    ['an identifier asked about twice is not repeated', [[HOSPITAL('H1'), REGIONAL('R1')]], [key(REGIONAL('R1'))], [HOSPITAL('H1'), REGIONAL('R1')], [HOSPITAL('H1'), REGIONAL('R1')]],
  ])('%s', async (_situation, records, decisionKeys, patient, expanded) => {
    const linked = new LinkedDecisions(index(records).search);
    await linked.refreshAll(decisionKeys);
    expect(linked.expand(patient)).toEqual(expanded);
  });

  test('not ready before a first full reading', async () => {
    const linked = new LinkedDecisions(index([]).search);
    expect(linked.isReady()).toBe(false);
    await linked.refreshAll([key(REGIONAL('R1'))]);
    expect(linked.isReady()).toBe(true);
  });

  test("a patient's links read while a full reading is under way are kept when it ends", async () => {
    const records = [[HOSPITAL('H1'), REGIONAL('R1')]];
    let release: () => void = () => undefined;
    const slow = async (asked: readonly PatientIdentifier[]) => {
      if (asked.length > 1) await new Promise<void>((resolve) => (release = resolve));
      return index(records).search(asked);
    };
    const linked = new LinkedDecisions(slow);
    const full = linked.refreshAll([key(REGIONAL('R0')), key(REGIONAL('X'))]);
    await linked.refresh([key(REGIONAL('R1'))]);
    release();
    await full;
    expect(linked.expand([HOSPITAL('H1')])).toEqual([HOSPITAL('H1'), REGIONAL('R1')]);
  });

  test('a link undone in the index is dropped at the next full reading', async () => {
    const records = [[HOSPITAL('H1'), REGIONAL('R1')]];
    const linked = new LinkedDecisions(index(records).search);
    await linked.refreshAll([key(REGIONAL('R1'))]);
    records.length = 0;
    await linked.refreshAll([key(REGIONAL('R1'))]);
    expect(linked.expand([HOSPITAL('H1')])).toEqual([HOSPITAL('H1')]);
  });

  test('a decision change whose links cannot be read: not ready until they are', async () => {
    const listeners: Array<(key: string, state: unknown, change: { replaying: boolean }) => void> = [];
    const view = { ready: async () => undefined, patients: () => [] as Array<[string, unknown]>, onChange: (listener: (typeof listeners)[number]) => (listeners.push(listener), () => undefined) };
    let down = false;
    const { search } = index([[HOSPITAL('H1'), REGIONAL('R1')]]);
    const linked = new LinkedDecisions(async (asked) => {
      if (down) throw new Error('FHIR server down');
      return search(asked);
    });
    const stop = linked.follow(view, { intervalMs: 0, logger: createLogger('test', 'silent') });
    await eventually(() => linked.isReady());
    down = true;
    listeners[0]!(key(REGIONAL('R1')), undefined, { replaying: false });
    await eventually(() => !linked.isReady());
    down = false;
    await eventually(() => linked.isReady(), 5_000);
    expect(linked.expand([HOSPITAL('H1')])).toEqual([HOSPITAL('H1'), REGIONAL('R1')]);
    stop();
  });

  test('with the consent rules: a refusal under the regional identifier withholds the study indexed under the hospital one', async () => {
    const states = new Map<string, PatientConsentState>([[key(REGIONAL('R1')), { patient: REGIONAL('R1'), decisions: [refusal], updatedAt: '2026-01-01T00:00:00Z' }]]);
    const view = { policy: 'opt-out' as const, stateOf: (identifier: PatientIdentifier) => states.get(key(identifier)), patients: () => states.entries() };
    const records = [[HOSPITAL('H1'), REGIONAL('R1')]];
    const linked = new LinkedDecisions(index(records).search);
    const study = { studyInstanceUid: '1.2.3' };

    expect(withLinkedDecisions(consentRulesFrom(view), linked).studySharing([HOSPITAL('H1')], study)).toBe('share');
    await linked.refresh([key(REGIONAL('R1'))]);
    expect(withLinkedDecisions(consentRulesFrom(view), linked).studySharing([HOSPITAL('H1')], study)).toBe('withhold');
    expect(withLinkedDecisions(consentRulesFrom(view), linked).patientSharing([HOSPITAL('H1')])).toBe('withhold');
    expect(withLinkedDecisions(consentRulesFrom(view), linked).recordSharing([HOSPITAL('H1')])).toBe('withhold');
    expect(consentRulesFrom(view).studySharing([HOSPITAL('H1')], study)).toBe('share');
  });
});
