import { Writable } from 'node:stream';
import type { Consent } from '@medplum/fhirtypes';
import { Registry } from 'prom-client';
import { stateOrderOf, type PatientConsentState } from '@imaging-facade/consent';
import { patientKey, type PatientIdentifier } from '@imaging-facade/events';
import { createLogger } from '@imaging-facade/service-kit';
import { buildConsent, decisionOfConsent, patientOfConsent } from './consent-resource';
import type { ConsentStore } from './consent-store';
import type { DecisionService } from './decisions';
import { changeOf, laterInstant, mayLag, Reconciliation, sweepStart } from './reconciliation';

const settings = { policyUri: 'urn:imaging-facade:consent-policy:opt-out', organization: { name: 'Imaging Facade' } };
const patient: PatientIdentifier = { system: 'urn:oid:1.2.250.1.71.4.2.7', value: '00734129' };
const other: PatientIdentifier = { system: 'urn:oid:1.2.250.1.71.4.2.7', value: '00734130' };

/** A desk Consent as the FHIR server returns it (HAPI writes instants with `+00:00`). */
function stored(id: string, provision: 'permit' | 'deny', lastUpdated: string, options: { status?: 'active' | 'inactive'; versionId?: string; who?: PatientIdentifier } = {}): Consent {
  const consent = buildConsent({ patient: options.who ?? patient, provision, recordedAt: '2026-12-07T09:00:00.000Z', recordedBy: 'desk' }, settings, 'Patient/7');
  return { ...consent, id, status: options.status ?? 'active', meta: { ...consent.meta, versionId: options.versionId ?? '1', lastUpdated } };
}

/** The state a consent view holds, as a desk published it after reading these Consents in force. */
function topicState(inForce: Consent[], readAt: string | undefined): PatientConsentState {
  return {
    patient,
    decisions: inForce.map((consent) => decisionOfConsent(consent)!),
    updatedAt: '2026-12-07T10:00:00.000Z',
    ...(readAt === undefined ? {} : { fhirOrder: { lastUpdated: readAt, versions: inForce.length } }),
  };
}

describe('the sweep window, on the FHIR server clock', () => {
  test('a sweep begins the margin before the newest change seen, whatever format the server wrote it in', () => {
    expect(sweepStart('2026-12-07T10:05:00.250+00:00', 300_000)).toBe('2026-12-07T10:00:00.250Z');
    expect(sweepStart('2026-12-07T11:05:00.250+01:00', 60_000)).toBe('2026-12-07T10:04:00.250Z');
  });

  test('with a margin of 0, a sweep begins at the newest change seen (it is read again: `ge`)', () => {
    expect(sweepStart('2026-12-07T10:05:00.250Z', 0)).toBe('2026-12-07T10:05:00.250Z');
  });

  test('before any change was seen, a sweep reads every desk Consent', () => {
    expect(sweepStart(undefined, 300_000)).toBeUndefined();
  });

  test.each([
    ['the later of two', '2026-12-07T10:00:00.000+00:00', '2026-12-07T10:00:00.001Z', '2026-12-07T10:00:00.001Z'],
    ['an earlier one does not move it back (a late commit)', '2026-12-07T10:00:05.000Z', '2026-12-07T10:00:01.000+00:00', '2026-12-07T10:00:05.000Z'],
    ['an instant in another offset is compared as an instant', '2026-12-07T10:30:00.000Z', '2026-12-07T11:00:00.000+01:00', '2026-12-07T10:30:00.000Z'],
    ['none yet', undefined, '2026-12-07T10:00:00.000Z', '2026-12-07T10:00:00.000Z'],
    ['a Consent without lastUpdated', '2026-12-07T10:00:00.000Z', undefined, '2026-12-07T10:00:00.000Z'],
  ])('newest change seen: %s', (_situation, held, seen, expected) => {
    expect(laterInstant(held, seen)).toBe(expected);
  });
});

describe('mayLag: whether the topic may lag the Consents FHIR changed since the last sweep', () => {
  const permit = stored('11', 'permit', '2026-12-07T10:00:00.000+00:00');
  const permitEnded = stored('11', 'permit', '2026-12-07T10:01:00.000+00:00', { status: 'inactive', versionId: '2' });
  const deny = stored('12', 'deny', '2026-12-07T10:01:00.000+00:00');
  const changes = (...consents: Consent[]) => consents.map((consent) => changeOf(consent)!);

  test.each([
    ['the topic holds the state read after the change', changes(permit), topicState([permit], '2026-12-07T10:00:00.000+00:00'), false],
    ['a crash: the refusal superseding the agreement never announced', changes(permitEnded, deny), topicState([permit], '2026-12-07T10:00:00.000+00:00'), true],
    ['a crash: a revocation never announced (the topic still holds the decision)', changes(permitEnded), topicState([permit], '2026-12-07T10:00:00.000+00:00'), true],
    ['a Consent in force that the topic lacks', changes(deny), undefined, true],
    ['the same Consent, saying something else on the topic', changes(deny), topicState([{ ...deny, provision: { type: 'permit' } }], '2026-12-07T10:01:00.000+00:00'), true],
    ['a change after the topic state was read (it is older in FHIR order)', changes(permit, stored('9', 'deny', '2026-12-07T10:02:00.000Z', { status: 'inactive', versionId: '2' })), topicState([permit], '2026-12-07T10:00:00.000Z'), true],
    ['a state published before fhirOrder existed', changes(permit), topicState([permit], undefined), true],
    ['no state on the topic and only ended decisions: the same', changes(permitEnded), undefined, false],
    ['an ended decision the topic no longer holds, read after it', changes(permitEnded, deny), topicState([deny], '2026-12-07T10:01:00.000+00:00'), false],
  ])('%s', (_situation, changed, known, expected) => {
    expect(mayLag(changed, known)).toBe(expected);
  });

  test('a Consent the desk did not write (no decision in it) is no change', () => {
    expect(changeOf({ ...permit, provision: undefined })).toBeUndefined();
  });
});

describe('Reconciliation: start-up, then sweeps', () => {
  /**
   * A FHIR server whose desk Consents are these (`write` changes them; `failNextSearches` makes the
   * next sweeps' searches fail), a topic, and a desk whose `reconcile` publishes FHIR's state on it
   * (unless the patient is `failing`).
   */
  function setUp(options: { inForce?: Consent[]; marginMs?: number } = {}) {
    let consents: Consent[] = options.inForce ?? [];
    let failSearches = 0;
    const searched: Array<string | undefined> = [];
    const store = {
      allActive: async function* () {
        yield* consents.filter((consent) => consent.status === 'active');
      },
      changedSince: async function* (since: string | undefined) {
        searched.push(since);
        if (failSearches > 0) {
          failSearches--;
          throw new Error('FHIR GET /Consent: HTTP 503');
        }
        yield* consents.filter((consent) => since === undefined || Date.parse(consent.meta!.lastUpdated!) >= Date.parse(since));
      },
    };
    const topic = new Map<string, PatientConsentState>();
    const failing = new Set<string>();
    const reconciled: string[] = [];
    const decisions = {
      reconcile: jest.fn(async (who: PatientIdentifier) => {
        const key = patientKey(who);
        if (failing.has(key)) throw new Error('FHIR GET /Consent: HTTP 500');
        reconciled.push(who.value);
        const theirs = consents.filter((consent) => patientKey(patientOfConsent(consent)!) === key);
        const decisionsInForce = theirs.filter((consent) => consent.status === 'active').map((consent) => decisionOfConsent(consent)!);
        topic.set(key, { patient: who, decisions: decisionsInForce, updatedAt: '2026-12-07T12:00:00.000Z', fhirOrder: stateOrderOf(theirs) });
        return true;
      }),
    };
    const lines: string[] = [];
    const logger = createLogger('test', 'debug', new Writable({ write: (chunk, _encoding, done) => void (lines.push(String(chunk)), done()) }));
    const metrics = new Registry();
    const reconciliation = new Reconciliation({
      store: store as unknown as ConsentStore,
      decisions: decisions as unknown as DecisionService,
      view: { patients: () => topic.entries(), stateOf: (key) => topic.get(typeof key === 'string' ? key : patientKey(key)) },
      logger,
      pseudonymize: (key) => `pt-${key === patientKey(patient) ? 'p' : 'o'}`,
      metrics,
      marginMs: options.marginMs ?? 60_000,
    });
    const ready = () =>
      reconciliation.readiness.probe().then(
        () => 'ok',
        (error: Error) => error.message,
      );
    const metric = async (name: string) => (await metrics.getSingleMetricAsString(name)).split('\n').filter((line) => !line.startsWith('#'));
    return {
      reconciliation,
      searched,
      reconciled,
      failing,
      lines,
      ready,
      metric,
      write: (...written: Consent[]) => void (consents = [...consents.filter((consent) => !written.some((w) => w.id === consent.id)), ...written]),
      failNextSearches: (count: number) => void (failSearches = count),
    };
  }

  test('the first sweep begins the margin before the newest Consent in force at start; the next ones the margin before the newest change they saw', async () => {
    const t = setUp({ inForce: [stored('1', 'deny', '2026-12-07T09:00:00.000+00:00'), stored('2', 'deny', '2026-12-07T09:30:00.000+00:00', { who: other })] });
    expect(await t.reconciliation.startUp()).toBe(true);
    await t.reconciliation.sweep();
    expect(t.searched).toEqual(['2026-12-07T09:29:00.000Z']);
    // A refusal written by a desk that died before announcing it.
    t.write(stored('3', 'deny', '2026-12-07T10:00:00.000+00:00'));
    await t.reconciliation.sweep();
    await t.reconciliation.sweep();
    expect(t.searched).toEqual(['2026-12-07T09:29:00.000Z', '2026-12-07T09:29:00.000Z', '2026-12-07T09:59:00.000Z']);
  });

  test('a transaction that commits after a later one was seen is found while within the margin', async () => {
    const t = setUp({ inForce: [stored('1', 'permit', '2026-12-07T10:00:00.000Z', { who: other })] });
    await t.reconciliation.startUp();
    t.write(stored('5', 'permit', '2026-12-07T10:00:20.000Z', { who: other }));
    await t.reconciliation.sweep();
    expect(t.searched.at(-1)).toBe('2026-12-07T09:59:00.000Z');
    // Began 15 s before the newest change seen, committed only now: still after the next sweep's start.
    t.write(stored('4', 'deny', '2026-12-07T10:00:05.000Z'));
    await t.reconciliation.sweep();
    expect(t.searched.at(-1)).toBe('2026-12-07T09:59:20.000Z');
    expect(t.reconciled).toEqual([other.value, other.value, patient.value]);
  });

  test('only the patients whose state on the topic may lag FHIR are read again; a sweep that finds agreement reads no patient', async () => {
    const t = setUp({ inForce: [stored('1', 'deny', '2026-12-07T10:00:00.000Z')] });
    await t.reconciliation.startUp();
    expect(t.reconciled).toEqual([patient.value]);
    await t.reconciliation.sweep();
    await t.reconciliation.sweep();
    expect(t.reconciled).toEqual([patient.value]);
    t.write(stored('2', 'permit', '2026-12-07T10:00:30.000Z', { who: other }));
    await t.reconciliation.sweep();
    await t.reconciliation.sweep();
    expect(t.reconciled).toEqual([patient.value, other.value]);
  });

  test('a sweep whose search fails is counted, is run again from the same point, and fails /readyz from the second in a row until one succeeds', async () => {
    const t = setUp({ inForce: [stored('1', 'deny', '2026-12-07T10:00:00.000Z')] });
    await t.reconciliation.startUp();
    t.reconciliation.start(60_000);
    expect(await t.ready()).toBe('ok');
    t.failNextSearches(2);
    await t.reconciliation.sweep();
    // One failure alone (FHIR restarting then) leaves the desk ready: it records decisions as well.
    expect(await t.ready()).toBe('ok');
    expect(await t.metric('consent_reconciliations_total')).toContain('consent_reconciliations_total{kind="sweep",outcome="failed"} 1');
    await t.reconciliation.sweep();
    expect(await t.ready()).toBe('the last 2 reconciliations with FHIR failed (FHIR GET /Consent: HTTP 503): run again every 60000 ms');
    t.write(stored('2', 'deny', '2026-12-07T10:05:00.000Z', { who: other }));
    await t.reconciliation.sweep();
    expect(t.searched).toEqual(['2026-12-07T09:59:00.000Z', '2026-12-07T09:59:00.000Z', '2026-12-07T09:59:00.000Z']);
    expect(t.reconciled).toEqual([patient.value, other.value]);
    expect(await t.ready()).toBe('ok');
    expect(await t.metric('consent_reconciliations_total')).toContain('consent_reconciliations_total{kind="sweep",outcome="ok"} 1');
    expect(await t.metric('consent_states_reannounced_total')).toContain('consent_states_reannounced_total{kind="sweep"} 1');
    await t.reconciliation.stop();
  });

  test('a patient that could not be compared is compared again at every sweep, even once its change has left the window; /readyz says so from the second sweep', async () => {
    const t = setUp({ marginMs: 0 });
    await t.reconciliation.startUp();
    t.reconciliation.start(60_000);
    t.failing.add(patientKey(patient));
    t.write(stored('1', 'deny', '2026-12-07T10:00:00.000Z'));
    await t.reconciliation.sweep();
    expect(await t.metric('consent_reconciliation_patients_failing')).toContain('consent_reconciliation_patients_failing 1');
    // Another change moves the window past the failed one.
    t.write(stored('2', 'deny', '2026-12-07T10:10:00.000Z', { who: other }));
    await t.reconciliation.sweep();
    expect(t.searched.at(-1)).toBe('2026-12-07T10:00:00.000Z');
    expect(await t.ready()).toBe('the last 2 reconciliations with FHIR failed (1 patient(s) could not be compared with FHIR): run again every 60000 ms');
    t.failing.clear();
    await t.reconciliation.sweep();
    expect(t.searched.at(-1)).toBe('2026-12-07T10:10:00.000Z');
    expect(t.reconciled).toEqual([other.value, patient.value]);
    expect(await t.ready()).toBe('ok');
    expect(await t.metric('consent_reconciliation_patients_failing')).toContain('consent_reconciliation_patients_failing 0');
    // Logged by pseudonym only.
    expect(t.lines.join('')).not.toContain(patient.value);
    expect(t.lines.some((line) => line.includes('"patient":"pt-p"') && line.includes('could not reconcile a consent state'))).toBe(true);
    await t.reconciliation.stop();
  });

  test('until the start-up reconciliation has run, /readyz fails and sweeps wait for it', async () => {
    const t = setUp();
    expect(await t.ready()).toBe('the decisions topic is not yet reconciled with FHIR since start: retrying');
    await t.reconciliation.sweep();
    expect(t.searched).toEqual([]);
    await t.reconciliation.startUp();
    await t.reconciliation.sweep();
    // Nothing in force at start: the first sweep reads every desk Consent.
    expect(t.searched).toEqual([undefined]);
  });

  test('sweeps run every interval, one after the other; stopping waits for the one under way and none begins after', async () => {
    const t = setUp({ marginMs: 0 });
    await t.reconciliation.startUp();
    t.reconciliation.start(10);
    const deadline = Date.now() + 5_000;
    while (t.searched.length < 3 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await t.reconciliation.stop();
    const searches = t.searched.length;
    expect(searches).toBeGreaterThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(t.searched.length).toBe(searches);
  });
});
