import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { CONSENT_DECISION_V1, makeEvent, patientKey, topicName, type ConsentDecisionV1Data } from '@imaging-facade/events';
import { createLogger } from '@imaging-facade/service-kit';
import { ConsentView, type ConsentChange } from './consent-view';
import type { PatientConsentState } from './policy';
import { connectedProducer, createCompactedTopics, eventually, sendDecisionState, sendRaw, testKafka, uniquePrefix } from './test-support/kafka';

const logger = createLogger('consent-view-int', 'silent');
const patient = (value: string) => ({ system: 'urn:oid:1.2.250.1.71.4.2.7', value });
const study = { studyInstanceUid: '1.2.826.0.1.3680043.2.1', accessionNumber: 'A1' };

function state(value: string, provision: 'permit' | 'deny' | undefined): ConsentDecisionV1Data {
  return {
    patient: patient(value),
    decisions: provision ? [{ scope: 'patient', provision, consentId: `c-${value}-${provision}`, recordedAt: new Date().toISOString(), recordedBy: 'desk' }] : [],
    updatedAt: new Date().toISOString(),
  };
}

describe('ConsentView against a real Kafka broker', () => {
  let kafka: Kafka;
  let producer: Producer;
  let prefix: string;
  const views: ConsentView[] = [];

  const startView = async (policy: 'opt-in' | 'opt-out' = 'opt-out', directory?: string) => {
    const view = new ConsentView({ kafka, topicPrefix: prefix, policy, logger, ...(directory ? { directory } : {}) });
    views.push(view);
    await view.start();
    return view;
  };

  beforeEach(async () => {
    kafka = testKafka();
    prefix = uniquePrefix();
    await createCompactedTopics(kafka, prefix);
    producer = await connectedProducer(kafka);
  });

  afterEach(async () => {
    await Promise.all(views.splice(0).map((view) => view.stop()));
    await producer.disconnect();
  });

  test('a view started after the decisions were written is ready only once it holds all of them', async () => {
    for (let index = 0; index < 30; index++) {
      await sendDecisionState(producer, prefix, state(`P${index}`, index % 2 === 0 ? 'deny' : 'permit'));
    }
    const view = await startView();
    await view.ready();
    expect([...view.patients()]).toHaveLength(30);
    expect(view.decide(patientKey(patient('P0')), study)).toBe('withhold');
    expect(view.decide(patient('P1'), study)).toBe('share');
    expect(view.decide(patient('unknown'), study)).toBe('share');
  });

  test('restarted on its file, the view reads only what the topic got since, and holds what it held', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'consent-view-'));
    for (const [value, provision] of [['P1', 'deny'], ['P2', 'permit'], ['P3', 'deny']] as const) {
      await sendDecisionState(producer, prefix, state(value, provision));
    }
    const before = await startView('opt-out', directory);
    await before.ready();
    expect(before.recordsRead).toBe(3);
    await views.splice(views.indexOf(before), 1)[0]!.stop();

    // While it was stopped: P1 agreed, P2's decision revoked (an empty state), P4 refused.
    await sendDecisionState(producer, prefix, state('P1', 'permit'));
    await sendDecisionState(producer, prefix, state('P2', undefined));
    await sendDecisionState(producer, prefix, state('P4', 'deny'));
    const changes: string[] = [];
    const after = new ConsentView({ kafka, topicPrefix: prefix, policy: 'opt-out', logger, directory });
    views.push(after);
    after.onChange((key, _state, change) => void changes.push(`${key.split('|')[1]}${change.replaying ? ' (replayed)' : ''}`));
    await after.start();
    await after.ready();

    expect(after.file).toBe(path.join(directory, `${topicName(CONSENT_DECISION_V1.topic, prefix)}.sqlite`));
    expect(after.recordsRead).toBe(3);
    expect(changes.sort()).toEqual(['P1 (replayed)', 'P2 (replayed)', 'P4 (replayed)']);
    expect(after.size).toBe(3);
    expect([...after.patients()].map(([key]) => key.split('|')[1])).toEqual(['P1', 'P3', 'P4']);
    expect(['P1', 'P2', 'P3', 'P4'].map((value) => after.decide(patient(value), study))).toEqual(['share', 'share', 'withhold', 'withhold']);
  });

  test('started with fromBeginning, the view reads the whole topic again and names every patient to its listeners, those with every decision revoked included', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'consent-view-'));
    await sendDecisionState(producer, prefix, state('P1', 'deny'));
    await sendDecisionState(producer, prefix, state('P2', 'deny'));
    await sendDecisionState(producer, prefix, state('P2', undefined));
    const before = await startView('opt-out', directory);
    await before.ready();
    await views.splice(views.indexOf(before), 1)[0]!.stop();

    const named = new Set<string>();
    const after = new ConsentView({ kafka, topicPrefix: prefix, policy: 'opt-out', logger, directory, fromBeginning: true });
    views.push(after);
    after.onChange((key, _state, change) => void (change.replaying && named.add(key.split('|')[1]!)));
    await after.start();
    await after.ready();

    expect(after.recordsRead).toBe(3);
    expect([...named].sort()).toEqual(['P1', 'P2']);
    expect([...after.patients()].map(([key]) => key.split('|')[1])).toEqual(['P1']);
  });

  test('a file in use by a running view is refused, saying so', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'consent-view-'));
    await startView('opt-out', directory);
    expect(() => new ConsentView({ kafka, topicPrefix: prefix, policy: 'opt-out', logger, directory })).toThrow(/the consent view .* is another process using it\?/);
  });

  test('on an empty topic the view is ready at once, and applies the policy', async () => {
    const view = await startView('opt-in');
    await view.ready();
    expect(view.decide(patient('P1'), study)).toBe('withhold');
    expect(view.decide(undefined, study)).toBe('withhold');
  });

  test('a decision written later reaches every running view, and onChange tells the new and the previous state', async () => {
    const [first, second] = [await startView(), await startView()];
    await Promise.all([first.ready(), second.ready()]);
    const changes: Array<[string, PatientConsentState | undefined, ConsentChange]> = [];
    first.onChange((key, current, change) => {
      changes.push([key, current, change]);
    });

    await sendDecisionState(producer, prefix, state('P7', 'deny'));
    await eventually(() => (second.stateOf(patient('P7')) ? true : undefined), 'the second view to see the refusal');
    await eventually(() => (changes.length === 1 ? true : undefined), 'the listener');
    expect(changes[0]![0]).toBe(patientKey(patient('P7')));
    expect(changes[0]![1]?.decisions[0]?.provision).toBe('deny');
    expect(changes[0]![2]).toEqual({ previous: undefined, replaying: false });

    // Everything revoked: an empty list means no decision any more.
    await sendDecisionState(producer, prefix, state('P7', undefined));
    await eventually(() => (changes.length === 2 ? true : undefined), 'the revocation');
    expect(changes[1]![1]).toBeUndefined();
    expect(changes[1]![2].previous?.decisions[0]?.provision).toBe('deny');
    expect(first.stateOf(patient('P7'))).toBeUndefined();
  });

  test('while replaying, listeners are told so', async () => {
    await sendDecisionState(producer, prefix, state('P1', 'deny'));
    const view = new ConsentView({ kafka, topicPrefix: prefix, policy: 'opt-out', logger });
    views.push(view);
    const replaying: boolean[] = [];
    view.onChange((_key, _state, change) => {
      replaying.push(change.replaying);
    });
    await view.start();
    await view.ready();
    await sendDecisionState(producer, prefix, state('P2', 'deny'));
    await eventually(() => (replaying.length === 2 ? true : undefined), 'both changes');
    expect(replaying).toEqual([true, false]);
  });

  test('a message that is not a decisions event, or whose key is not its patient, is skipped and does not block the partition', async () => {
    const topic = topicName(CONSENT_DECISION_V1.topic, prefix);
    const key = patientKey(patient('P1'));
    await sendRaw(producer, topic, key, 'not json');
    await sendRaw(producer, topic, key, JSON.stringify({ specversion: '1.0' }));
    await sendDecisionState(producer, prefix, { ...state('P2', 'deny') });
    const misfiled = makeEvent(CONSENT_DECISION_V1.type, 'urn:test', 'test', state('P3', 'permit'));
    await sendRaw(producer, topic, key, JSON.stringify(misfiled));
    await sendDecisionState(producer, prefix, state('P1', 'deny'));
    const view = await startView();
    await view.ready();
    expect(view.stateOf(patient('P1'))?.decisions[0]?.provision).toBe('deny');
    expect(view.stateOf(patient('P2'))?.decisions[0]?.provision).toBe('deny');
    expect(view.stateOf(patient('P3'))).toBeUndefined();
  });

  test('a view started before the decisions topic exists creates it (compacted) and is ready at once', async () => {
    prefix = uniquePrefix();
    const view = await startView();
    await view.ready();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topic = topicName(CONSENT_DECISION_V1.topic, prefix);
      const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic, configNames: ['cleanup.policy'] }] });
      expect(described.resources[0]?.configEntries[0]?.configValue).toBe('compact');
    } finally {
      await admin.disconnect();
    }
    await sendDecisionState(producer, prefix, state('P1', 'deny'));
    await eventually(() => view.stateOf(patient('P1')), 'the decision');
  });

  test('with several desks, a state older in FHIR published after a newer one is not applied by any view, those reading anew included, and a revocation is not undone by it', async () => {
    const order = (second: number, versions: number) => ({ lastUpdated: `2026-12-07T10:00:0${second}.000+00:00`, versions });
    const running = await startView();
    await running.ready();
    const applied: Array<string | undefined> = [];
    running.onChange((key, current) => void applied.push(`${key.split('|')[1]}: ${current?.decisions[0]?.provision ?? 'none'}`));
    // Desk B read "permit" (order 1), desk A then recorded "deny" (order 2) and published first.
    await sendDecisionState(producer, prefix, { ...state('P1', 'deny'), fhirOrder: order(2, 3) });
    await sendDecisionState(producer, prefix, { ...state('P1', 'permit'), fhirOrder: order(1, 1) });
    // P2: everything revoked (order 3, no decision left), then a stale "permit" read before it.
    await sendDecisionState(producer, prefix, { ...state('P2', undefined), fhirOrder: order(3, 2) });
    await sendDecisionState(producer, prefix, { ...state('P2', 'permit'), fhirOrder: order(1, 1) });
    await eventually(() => (running.olderStatesSkipped === 2 ? true : undefined), 'both older states read');

    const anew = await startView();
    await anew.ready();
    for (const view of [running, anew]) {
      expect(view.stateOf(patient('P1'))?.decisions.map((decision) => decision.provision)).toEqual(['deny']);
      expect(view.stateOf(patient('P2'))).toBeUndefined();
      expect(view.olderStatesSkipped).toBe(2);
    }
    expect(applied.sort()).toEqual(['P1: deny', 'P2: none']);

    // The same state again is applied (idempotent), a later one replaces it, and a state without order
    // key (published before 2026-12-07) is applied by its place, as it was.
    await sendDecisionState(producer, prefix, { ...state('P1', 'permit'), fhirOrder: order(4, 5) });
    await eventually(() => (running.stateOf(patient('P1'))?.decisions[0]?.provision === 'permit' ? true : undefined), 'the later permit');
    await sendDecisionState(producer, prefix, state('P1', 'deny'));
    await eventually(() => (running.stateOf(patient('P1'))?.decisions[0]?.provision === 'deny' ? true : undefined), 'the state without order key');
  });

  test('a tombstone removes the patient', async () => {
    await sendDecisionState(producer, prefix, state('P1', 'deny'));
    await sendRaw(producer, topicName(CONSENT_DECISION_V1.topic, prefix), patientKey(patient('P1')), null);
    const view = await startView();
    await view.ready();
    expect(view.stateOf(patient('P1'))).toBeUndefined();
  });
});
