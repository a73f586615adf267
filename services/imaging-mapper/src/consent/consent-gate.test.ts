import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { decideSharing, generatePseudonymKey, withholdsRecord, pseudonymizer, pseudonymKey, ReconciledPatients, StudyCatalog, type ConsentPolicy, type PatientConsentState } from '@imaging-facade/consent';
import { studySnapshot } from '@imaging-facade/consent/src/test-support/snapshots';
import type { ConsentDecision, StudyCompletedV1Data } from '@imaging-facade/events';
import { FhirError } from '@imaging-facade/fhir';
import { createLogger, type Logger } from '@imaging-facade/service-kit';
import { ConsentGate, ConsentUnavailableError, isRetryableGateError, type IndexWriter } from './consent-gate';
import type { MappingResult } from '../pipeline';
import type { PatientLabels } from './withheld-label';
import type { LinkedPatients } from './linked-patients';

const SYSTEM = 'urn:oid:1.2.250.1.999.1';
const PATIENT = 'P1';
const KEY = `${SYSTEM}|${PATIENT}`;

type Decision = Pick<ConsentDecision, 'scope' | 'provision' | 'study'>;
const patientWide = (provision: 'permit' | 'deny'): Decision => ({ scope: 'patient', provision });
const byUid = (provision: 'permit' | 'deny', studyInstanceUid: string): Decision => ({ scope: 'study', provision, study: { studyInstanceUid } });
const byAccession = (provision: 'permit' | 'deny', accessionNumber: string): Decision => ({ scope: 'study', provision, study: { accessionNumber } });

/** The consent view, reduced to its state map and the library's own decision rule. */
class FakeConsent {
  readonly states = new Map<string, PatientConsentState>();
  error: Error | undefined;
  constructor(readonly policy: ConsentPolicy) {}
  decide(key: string | undefined, study: { studyInstanceUid: string; accessionNumber?: string | undefined }) {
    return decideSharing(this.policy, key === undefined ? undefined : this.states.get(key), study);
  }
  patients() {
    return this.states.entries();
  }
  stateOf(key: string) {
    return this.states.get(key);
  }
  /** Sets the patient's decisions, each recorded a second after the previous one. */
  set(key: string, decisions: Decision[]): void {
    if (decisions.length === 0) {
      this.states.delete(key);
      return;
    }
    const [system, value] = key.split('|') as [string, string];
    this.states.set(key, {
      patient: { system, value },
      decisions: decisions.map((decision, index) => ({
        ...decision,
        consentId: `c${index}`,
        recordedAt: new Date(Date.UTC(2025, 0, 1, 10, 0, index)).toISOString(),
        recordedBy: 'desk',
      })),
      updatedAt: new Date().toISOString(),
    });
  }
}

/** The shared index, reduced to the studies it holds; every call is recorded in order. */
class FakeIndex implements IndexWriter {
  readonly published = new Set<string>();
  readonly calls: string[] = [];
  publish = async (snapshot: StudyCompletedV1Data): Promise<MappingResult> => {
    this.calls.push(`publish ${snapshot.studyInstanceUid}`);
    const outcome = this.published.has(snapshot.studyInstanceUid) ? 'unchanged' : 'created';
    this.published.add(snapshot.studyInstanceUid);
    return { outcome, patient: 'existing', numberOfSeries: 1, numberOfInstances: 1, skipped: [], derived: { documentReference: 'none', observations: 0, notes: [] } };
  };
  withdraw = async (uid: string) => {
    this.calls.push(`withdraw ${uid}`);
    const deleted = this.published.delete(uid);
    return { deletedStudies: deleted ? [`id-${uid}`] : [] };
  };
}

/** The patients' records in the index, reduced to whether each carries the withheld label, set by the library's rule. */
class FakeLabels implements PatientLabels {
  readonly calls: string[] = [];
  fail: Error | undefined;
  constructor(
    private readonly consent: FakeConsent,
    readonly labelled: Set<string>,
  ) {}
  sync = async (key: string) => {
    this.calls.push(key);
    if (this.fail) throw this.fail;
    const withheld = withholdsRecord([this.consent.stateOf(key)]);
    const had = this.labelled.has(key);
    if (withheld) this.labelled.add(key);
    else this.labelled.delete(key);
    return { labelled: withheld && !had ? 1 : 0, unlabelled: !withheld && had ? 1 : 0 };
  };
}

/** The index's Patient records, reduced to which identifiers each links (none: every patient known by one). */
class FakeLinks implements LinkedPatients {
  readonly records: string[][] = [];
  fail: Error | undefined;
  /** The labels' state (FakeLabels): a record is labelled when one of its identifiers is. */
  labelled = new Set<string>();
  recordsHolding = async (keys: readonly string[]) =>
    this.records.filter((record) => record.some((key) => keys.includes(key))).map((record) => ({ keys: record, labelled: record.some((key) => this.labelled.has(key)) }));
  keysOf = async (key: string) => {
    if (this.fail) throw this.fail;
    return [...new Set([key, ...this.records.filter((record) => record.includes(key)).flat()])];
  };
}

function setup(
  policy: ConsentPolicy,
  index: IndexWriter = new FakeIndex(),
  reconciled = new ReconciledPatients(),
  logging: { logger: Logger; pseudonymize: (patientKey: string) => string } = { logger: createLogger('test', 'silent'), pseudonymize: pseudonymizer(generatePseudonymKey()) },
  labelled = new Set<string>(),
  links = new FakeLinks(),
) {
  const consent = new FakeConsent(policy);
  const labels = new FakeLabels(consent, labelled);
  links.labelled = labelled;
  const catalog = new StudyCatalog({ kafka: {} as Kafka, topicPrefix: '', defaultPatientIdSystem: SYSTEM, logger: createLogger('test', 'silent'), keepSnapshots: true });
  const metrics = new Registry();
  const gate = new ConsentGate({
    consent,
    catalog,
    index,
    labels,
    links,
    reconciled,
    defaultPatientIdSystem: SYSTEM,
    ...logging,
    metrics,
    retry: { initialMs: 1, maxMs: 2 },
  });
  /** A decision recorded at the desk, as the view tells it once it has caught up. */
  const record = async (key: string, decisions: Decision[]) => {
    consent.set(key, decisions);
    await gate.onConsentChange(key, consent.states.get(key), { replaying: false });
  };
  return { consent, catalog, gate, metrics, record, reconciled, labels, links };
}

const studies = {
  a: studySnapshot({ patientId: PATIENT, accessionNumber: 'ACC-A' }),
  b: studySnapshot({ patientId: PATIENT, accessionNumber: 'ACC-B' }),
  c: studySnapshot({ patientId: PATIENT }),
};
type Name = keyof typeof studies;
const uidOf = (name: Name) => studies[name].studyInstanceUid;
const namesIn = (index: FakeIndex) => (Object.keys(studies) as Name[]).filter((name) => index.published.has(uidOf(name)));

describe('the consent gate, when a study arrives', () => {
  test.each<[string, ConsentPolicy, Decision[], boolean, string]>([
    ['opt-out, no decision: published', 'opt-out', [], false, 'shared'],
    ['opt-out, the patient refused: not published', 'opt-out', [patientWide('deny')], false, 'withheld'],
    ['opt-out, the patient refused, an earlier snapshot was published: removed', 'opt-out', [patientWide('deny')], true, 'withdrawn'],
    ['opt-out, the patient agreed: published', 'opt-out', [patientWide('permit')], false, 'shared'],
    ['opt-in, no decision: held', 'opt-in', [], false, 'withheld'],
    ['opt-in, no decision, published before the policy changed: removed', 'opt-in', [], true, 'withdrawn'],
    ['opt-in, the patient agreed: published', 'opt-in', [patientWide('permit')], false, 'shared'],
    ['refused for all, agreed for this study by UID: published', 'opt-out', [patientWide('deny'), byUid('permit', uidOf('a'))], false, 'shared'],
    ['agreed for this study by UID, then refused for all: the study decision still wins', 'opt-out', [byUid('permit', uidOf('a')), patientWide('deny')], false, 'shared'],
    ['agreed for all, refused for this study by accession number: not published', 'opt-out', [patientWide('permit'), byAccession('deny', 'ACC-A')], false, 'withheld'],
    ['refused for another study only: published', 'opt-out', [byUid('deny', uidOf('b')), byAccession('deny', 'ACC-B')], false, 'shared'],
    ['opt-in, agreed for another study only: held', 'opt-in', [byUid('permit', uidOf('b'))], false, 'withheld'],
  ])('%s', async (_situation, policy, decisions, publishedBefore, outcome) => {
    const index = new FakeIndex();
    const { consent, gate } = setup(policy, index);
    consent.set(KEY, decisions);
    if (publishedBefore) index.published.add(uidOf('a'));

    const result = await gate.onStudy(studies.a);

    expect(result.outcome).toBe(outcome);
    expect(index.published.has(uidOf('a'))).toBe(outcome === 'shared');
  });

  test('the study is catalogued before it is decided, so that a decision arriving next finds it', async () => {
    const { catalog, gate, consent } = setup('opt-out');
    consent.set(KEY, [patientWide('deny')]);
    await gate.onStudy(studies.b);
    expect(catalog.studiesOf(KEY).map((study) => study.studyInstanceUid)).toEqual([uidOf('b')]);
    expect(catalog.snapshotOf(uidOf('b'))).toEqual(studies.b);
  });

  test("a refused study is withdrawn naming its patient, whose cumulative dose the index then recomputes", async () => {
    const patients: Array<string | undefined> = [];
    const index = new FakeIndex();
    const withdraw = index.withdraw;
    index.withdraw = async (uid: string, patientKey?: string) => {
      patients.push(patientKey);
      return withdraw(uid);
    };
    const { consent, gate } = setup('opt-out', index);
    consent.set(KEY, [patientWide('deny')]);
    await gate.onStudy(studies.a);
    expect(patients).toEqual([KEY]);
  });

  test('a study without PatientID follows the policy alone (opt-in: held)', async () => {
    const index = new FakeIndex();
    const { gate } = setup('opt-in', index);
    const orphan = studySnapshot({});
    expect((await gate.onStudy(orphan)).outcome).toBe('withheld');
    expect(index.calls).toEqual([`withdraw ${orphan.studyInstanceUid}`]);
  });
});

describe('the consent gate, when a study moves to another patient (a Patient ID corrected at the source)', () => {
  test('a decision of the patient it left, applied while the correction is handled, does not publish it against the new patient\'s refusal', async () => {
    const K2 = `${SYSTEM}|P2`;
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const index = new FakeIndex();
    const publish = index.publish;
    index.publish = async (snapshot) => {
      if (snapshot.studyInstanceUid === 'Y') await slow;
      return publish(snapshot);
    };
    const { consent, gate } = setup('opt-out', index);
    // X filed under P1 by mistake, published; P2 refuses everything.
    await gate.onStudy(studySnapshot({ studyInstanceUid: 'X', patientId: PATIENT, lastReceivedAt: '2025-01-01T10:00:00Z' }));
    consent.set(K2, [patientWide('deny')]);
    // Another study of P1 being published (a slow FHIR server) holds P1's lock…
    const y = gate.onStudy(studySnapshot({ studyInstanceUid: 'Y', patientId: PATIENT }));
    await new Promise((resolve) => setTimeout(resolve, 10));
    // …when P1 records a permit: its reconcile reads P1's studies (X, Y) and waits for the lock.
    consent.set(KEY, [patientWide('permit')]);
    const reconcile = gate.onConsentChange(KEY, consent.states.get(KEY), { replaying: false });
    await new Promise((resolve) => setTimeout(resolve, 10));
    // X's Patient ID is corrected to P2's and the study sent again: P2 refuses, X is withdrawn.
    await gate.onStudy(studySnapshot({ studyInstanceUid: 'X', patientId: 'P2', lastReceivedAt: '2025-01-02T10:00:00Z' }));
    release();
    await Promise.all([y, reconcile]);
    expect(index.published.has('X')).toBe(false);
    expect(index.calls.filter((call) => call.endsWith(' X'))).toEqual(['publish X', 'withdraw X']);
  });
});

describe('the consent gate, when an older snapshot of a study arrives again (a dead letter re-sent, another node\'s late copy)', () => {
  const K2 = `${SYSTEM}|P2`;
  const before = studySnapshot({ studyInstanceUid: 'X', patientId: PATIENT, description: 'before', lastReceivedAt: '2025-01-01T10:00:00Z' });
  const corrected = studySnapshot({ studyInstanceUid: 'X', patientId: 'P2', description: 'corrected', lastReceivedAt: '2025-01-02T10:00:00Z' });

  test('a study moved to a patient who refused is not put back under the patient it left', async () => {
    const index = new FakeIndex();
    const { consent, gate } = setup('opt-out', index);
    await gate.onStudy(before);
    consent.set(K2, [patientWide('deny')]);
    expect((await gate.onStudy(corrected)).outcome).toBe('withdrawn');

    const again = await gate.onStudy(before);

    expect(again.outcome).toBe('withheld');
    expect(index.calls.filter((call) => call.endsWith(' X'))).toEqual(['publish X', 'withdraw X', 'withdraw X']);
  });

  test('a shared study is published as its newest snapshot has it, never as the older one', async () => {
    const published: string[] = [];
    const index = new FakeIndex();
    const publish = index.publish;
    index.publish = async (snapshot) => {
      published.push(String(snapshot.study['00081030']?.Value?.[0]));
      return publish(snapshot);
    };
    const { gate } = setup('opt-out', index);
    await gate.onStudy(corrected);

    await gate.onStudy(before);

    expect(published).toEqual(['corrected', 'corrected']);
  });
});

describe('the consent gate, when a decision changes', () => {
  async function withThreeStudies(policy: ConsentPolicy, before: Decision[] = []) {
    const index = new FakeIndex();
    const context = setup(policy, index);
    context.consent.set(KEY, before);
    for (const snapshot of Object.values(studies)) {
      await context.gate.onStudy(snapshot);
    }
    return { ...context, index };
  }

  test.each<[string, ConsentPolicy, Decision[], Decision[], Name[]]>([
    ['opt-out, refused for all: every study is removed', 'opt-out', [], [patientWide('deny')], []],
    ['opt-out, refused for one study by UID: the others stay', 'opt-out', [], [byUid('deny', uidOf('a'))], ['b', 'c']],
    ['opt-out, refused for one study by accession number: the others stay', 'opt-out', [], [byAccession('deny', 'ACC-B')], ['a', 'c']],
    ['opt-out, refused for all but one study', 'opt-out', [], [byUid('permit', uidOf('c')), patientWide('deny')], ['c']],
    ['opt-out, agreed again after a refusal: every study is back', 'opt-out', [patientWide('deny')], [patientWide('permit')], ['a', 'b', 'c']],
    ['opt-out, the refusal revoked: the policy shares them again', 'opt-out', [patientWide('deny')], [], ['a', 'b', 'c']],
    ['opt-in, agreed: held studies are published', 'opt-in', [], [patientWide('permit')], ['a', 'b', 'c']],
    ['opt-in, agreed for one study: only that one', 'opt-in', [], [byUid('permit', uidOf('b'))], ['b']],
    ['opt-in, consent revoked: every study is removed', 'opt-in', [patientWide('permit')], [], []],
  ])('%s', async (_situation, policy, before, after, expected) => {
    const { index, record } = await withThreeStudies(policy, before);
    await record(KEY, after);
    expect(namesIn(index)).toEqual(expected);
  });

  test('a republished study comes from the catalogue\'s latest snapshot', async () => {
    const { index, record, catalog } = await withThreeStudies('opt-out', [patientWide('deny')]);
    const published: StudyCompletedV1Data[] = [];
    const publish = index.publish;
    index.publish = async (snapshot) => {
      published.push(snapshot);
      return publish(snapshot);
    };
    await record(KEY, [patientWide('permit')]);
    expect(published.map((snapshot) => snapshot.studyInstanceUid).sort()).toEqual(Object.values(studies).map((s) => s.studyInstanceUid).sort());
    for (const snapshot of published) {
      expect(snapshot).toEqual(catalog.snapshotOf(snapshot.studyInstanceUid));
    }
  });

  test("its log lines name each study and its patient by the node's pseudonym, never by the identifier", async () => {
    const lines: string[] = [];
    const pseudonymize = pseudonymizer(pseudonymKey(Buffer.alloc(32, 3)));
    const patientId = '00734129';
    const context = setup('opt-out', new FakeIndex(), new ReconciledPatients(), {
      logger: createLogger('imaging-mapper', 'info', { write: (line: string) => void lines.push(line) }),
      pseudonymize,
    });
    const snapshot = studySnapshot({ patientId });
    await context.gate.onStudy(snapshot);
    await context.record(`${SYSTEM}|${patientId}`, [patientWide('deny')]);
    const withheld = lines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'study withheld from the index (consent)');
    expect(withheld).toEqual([expect.objectContaining({ studyInstanceUid: snapshot.studyInstanceUid, patient: pseudonymize(`${SYSTEM}|${patientId}`) })]);
    expect(lines.join('\n')).not.toContain(patientId);
  });

  test('a decision about another patient touches nothing of this one', async () => {
    const { index, record } = await withThreeStudies('opt-out');
    index.calls.length = 0;
    await record(`${SYSTEM}|P2`, [patientWide('deny')]);
    expect(index.calls).toEqual([]);
    expect(namesIn(index)).toEqual(['a', 'b', 'c']);
  });
});

describe('a refusal and a publication that cross end with the refusal honoured', () => {
  test('a refusal arriving while the study is being written: the write finishes, then the study is removed', async () => {
    const index = new FakeIndex();
    let finishWrite!: () => void;
    const writing = new Promise<void>((resolve) => (finishWrite = resolve));
    let started!: () => void;
    const writeStarted = new Promise<void>((resolve) => (started = resolve));
    const publish = index.publish;
    index.publish = async (snapshot) => {
      started();
      await writing;
      return publish(snapshot);
    };
    const { gate, consent } = setup('opt-out', index);

    const publication = gate.onStudy(studies.a);
    await writeStarted;
    consent.set(KEY, [patientWide('deny')]);
    const withdrawal = gate.onConsentChange(KEY, consent.states.get(KEY), { replaying: false });
    finishWrite();
    await Promise.all([publication, withdrawal]);

    expect(index.calls).toEqual([`publish ${uidOf('a')}`, `withdraw ${uidOf('a')}`]);
    expect(index.published.size).toBe(0);
  });

  test('a study arriving while a refusal is being applied: it reads the refusal and is not published', async () => {
    const index = new FakeIndex();
    const { gate, consent, record } = setup('opt-out', index);
    await gate.onStudy(studies.a);
    let finishWithdrawal!: () => void;
    const withdrawing = new Promise<void>((resolve) => (finishWithdrawal = resolve));
    const withdraw = index.withdraw;
    index.withdraw = async (uid) => {
      await withdrawing;
      return withdraw(uid);
    };

    const refusal = record(KEY, [patientWide('deny')]);
    const late = gate.onStudy(studies.b);
    finishWithdrawal();
    await Promise.all([refusal, late]);

    expect((await late).outcome).toBe('withheld');
    expect(index.published.size).toBe(0);
    expect(index.calls.filter((call) => call.startsWith('publish'))).toEqual([`publish ${uidOf('a')}`]);
    expect(consent.states.size).toBe(1);
  });
});

describe('the sweep after a start', () => {
  test.each<[string, ConsentPolicy, Decision[] | 'revoked', Name[]]>([
    ['a refusal recorded while the mapper was down removes the published studies', 'opt-out', [patientWide('deny')], []],
    ['a per-study refusal recorded while down removes only that study', 'opt-out', [byUid('deny', uidOf('a'))], ['b', 'c']],
    ['a refusal revoked while down: the studies are published again', 'opt-out', 'revoked', ['a', 'b', 'c']],
    ['opt-in without any decision (the policy changed): every study is removed', 'opt-in', [], []],
  ])('%s', async (_situation, policy, decisions, expected) => {
    const index = new FakeIndex();
    const { gate, consent, catalog } = setup(policy, index);
    // What the index holds: the studies as they were published before the restart.
    for (const name of policy === 'opt-out' && decisions === 'revoked' ? (['a'] as Name[]) : (['a', 'b', 'c'] as Name[])) {
      index.published.add(uidOf(name));
    }
    for (const snapshot of Object.values(studies)) catalog.apply(snapshot);
    // The replay of the decisions topic at start.
    consent.set(KEY, decisions === 'revoked' ? [] : decisions);
    await gate.onConsentChange(KEY, consent.states.get(KEY), { replaying: true });
    expect(index.calls).toEqual([]);

    await gate.sweep();

    expect(namesIn(index)).toEqual(expected);
  });
});

describe('the sweep at a later start: only the patients whose decisions changed', () => {
  const OTHER = `${SYSTEM}|P2`;
  // P2 refused in the first life, unchanged since; P3 never made a decision.
  const theirs = { other: studySnapshot({ patientId: 'P2' }), none: studySnapshot({ patientId: 'P3' }) };

  /** One node across a restart: the index, the decisions topic, the study topic and the record of applied decisions. */
  function node() {
    const index = new FakeIndex();
    const reconciled = new ReconciledPatients();
    const topic = new Map<string, Decision[]>();
    const start = async (policy: ConsentPolicy) => {
      const context = setup(policy, index, reconciled);
      for (const [key, decisions] of topic) {
        context.consent.set(key, decisions);
        await context.gate.onConsentChange(key, context.consent.states.get(key), { replaying: true });
      }
      for (const snapshot of [...Object.values(studies), ...Object.values(theirs)]) context.catalog.apply(snapshot);
      const decide = async (key: string, decisions: Decision[]) => {
        topic.set(key, decisions);
        await context.record(key, decisions);
      };
      return { ...context, decide };
    };
    /** The first life: its own sweep, every study received, then the decisions recorded at the desk. */
    const firstLife = async (policy: ConsentPolicy, decisions: Decision[]) => {
      const life = await start(policy);
      await life.gate.sweep();
      for (const snapshot of [...Object.values(studies), ...Object.values(theirs)]) await life.gate.onStudy(snapshot);
      await life.decide(OTHER, [patientWide('deny')]);
      await life.decide(KEY, decisions);
      await life.gate.stop();
      return life;
    };
    return { index, reconciled, topic, start, firstLife };
  }

  test.each<[string, [ConsentPolicy, Decision[]], Decision[], ConsentPolicy, { scope: string; patients: number }, Name[], boolean]>([
    ['nothing changed while the mapper was down: nobody is swept', ['opt-out', [byUid('deny', uidOf('a'))]], [byUid('deny', uidOf('a'))], 'opt-out', { scope: 'changed decisions', patients: 0 }, ['b', 'c'], true],
    ['a refusal recorded while down: that patient alone', ['opt-out', []], [patientWide('deny')], 'opt-out', { scope: 'changed decisions', patients: 1 }, [], true],
    ['a refusal revoked while down: that patient alone, published again', ['opt-out', [patientWide('deny')]], [], 'opt-out', { scope: 'changed decisions', patients: 1 }, ['a', 'b', 'c'], true],
    ['opt-in, consent given while down: that patient alone', ['opt-in', []], [patientWide('permit')], 'opt-in', { scope: 'changed decisions', patients: 1 }, ['a', 'b', 'c'], false],
    ['the policy changed to opt-in: every patient, and those without a decision withdrawn', ['opt-out', []], [], 'opt-in', { scope: 'every patient', patients: 3 }, [], false],
    ['the policy changed to opt-out: every patient, and those without a decision published', ['opt-in', []], [], 'opt-out', { scope: 'every patient', patients: 3 }, ['a', 'b', 'c'], true],
  ])('%s', async (_situation, [policyBefore, before], after, policy, swept, expected, noneShared) => {
    const { index, topic, start, firstLife } = node();
    await firstLife(policyBefore, before);
    topic.set(KEY, after);
    index.calls.length = 0;

    const { gate } = await start(policy);
    const result = await gate.sweep();

    expect({ scope: result.scope, patients: result.patients }).toEqual(swept);
    expect(namesIn(index)).toEqual(expected);
    expect(index.published.has(theirs.none.studyInstanceUid)).toBe(noneShared);
    expect(index.published.has(theirs.other.studyInstanceUid)).toBe(false);
    if (swept.patients === 0) expect(index.calls).toEqual([]);
  });

  test('a change being applied when the mapper stopped is applied at the next start, though the decisions went back to those applied before', async () => {
    const { index, topic, start } = node();
    const life = await start('opt-out');
    await life.gate.sweep();
    for (const snapshot of Object.values(studies)) await life.gate.onStudy(snapshot);
    await life.decide(KEY, [patientWide('permit')]);
    // A refusal whose withdrawals stop half-way: one study withdrawn, then the index keeps failing until the mapper stops.
    const withdraw = index.withdraw;
    let attempts = 0;
    index.withdraw = async (uid) => {
      if (++attempts > 1) throw new FhirError('busy', 503);
      return withdraw(uid);
    };
    const refusal = life.decide(KEY, [patientWide('deny')]);
    while (attempts < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    await life.gate.stop();
    await refusal;
    expect(namesIn(index)).toHaveLength(2);
    index.withdraw = withdraw;
    // While down, the refusal is revoked: the decisions are again those fully applied before.
    topic.set(KEY, [patientWide('permit')]);

    const result = await (await start('opt-out')).gate.sweep();

    expect({ scope: result.scope, patients: result.patients }).toEqual({ scope: 'changed decisions', patients: 1 });
    expect(namesIn(index)).toEqual(['a', 'b', 'c']);
  });

  test('a patient with a study that failed for good is swept again at the next start', async () => {
    const { index, start } = node();
    const life = await start('opt-out');
    await life.gate.sweep();
    for (const snapshot of Object.values(studies)) await life.gate.onStudy(snapshot);
    const withdraw = index.withdraw;
    index.withdraw = async (uid) => {
      if (uid === uidOf('c')) throw new FhirError('bad request', 400);
      return withdraw(uid);
    };
    await life.decide(KEY, [patientWide('deny')]);
    await life.gate.stop();
    expect(namesIn(index)).toEqual(['c']);
    index.withdraw = withdraw;

    const result = await (await start('opt-out')).gate.sweep();

    expect(result.patients).toBe(1);
    expect(namesIn(index)).toEqual([]);
  });
});

describe("the withheld label of the patient's record", () => {
  const OTHER = `${SYSTEM}|P2`;

  test.each<[string, Decision[], boolean]>([
    ['a patient-wide refusal labels the record', [patientWide('deny')], true],
    ['a refusal of one study does not: the record is shown', [byUid('deny', uidOf('a'))], false],
    ['a refusal, then an agreement: the label is taken off', [patientWide('deny'), patientWide('permit')], false],
    ['a refusal for all with one study agreed: the record is shown with that study', [patientWide('deny'), byUid('permit', uidOf('a'))], false],
    ['… and that agreement withdrawn by a refusal of the study: labelled again', [patientWide('deny'), byUid('permit', uidOf('a')), byUid('deny', uidOf('a'))], true],
  ])('%s', async (_situation, decisions, labelled) => {
    const { gate, record, labels } = setup('opt-out');
    await gate.onStudy(studies.a);
    for (let count = 1; count <= decisions.length; count++) await record(KEY, decisions.slice(0, count));
    expect(labels.labelled.has(KEY)).toBe(labelled);
  });

  test('a patient with no study on this node is labelled too (another node may have published their record)', async () => {
    const { record, labels } = setup('opt-out');
    await record(OTHER, [patientWide('deny')]);
    expect(labels.labelled.has(OTHER)).toBe(true);
  });

  test('a study shared by its own decision against a patient-wide refusal: the record it may have created gets the rule\'s label (none, shown with the study)', async () => {
    const { consent, gate, labels } = setup('opt-out');
    labels.labelled.add(KEY);
    consent.set(KEY, [patientWide('deny'), byUid('permit', uidOf('a'))]);
    const result = await gate.onStudy(studies.a);
    expect(result.outcome).toBe('shared');
    expect(labels.calls).toEqual([KEY]);
    expect(labels.labelled.has(KEY)).toBe(false);
  });

  test('a study of a patient without a patient-wide refusal costs no label look-up', async () => {
    const { gate, labels } = setup('opt-out');
    await gate.onStudy(studies.a);
    expect(labels.calls).toEqual([]);
  });

  test('a label that failed for good leaves the patient to the next start, which labels them', async () => {
    const reconciled = new ReconciledPatients();
    const labelled = new Set<string>();
    const first = setup('opt-out', new FakeIndex(), reconciled, undefined, labelled);
    await first.gate.sweep();
    first.labels.fail = new FhirError('bad request', 400);
    await first.record(KEY, [patientWide('deny')]);
    await first.gate.stop();
    expect(labelled.has(KEY)).toBe(false);

    const second = setup('opt-out', new FakeIndex(), reconciled, undefined, labelled);
    second.consent.set(KEY, [patientWide('deny')]);
    const result = await second.gate.sweep();

    expect(result.patients).toBe(1);
    expect(labelled.has(KEY)).toBe(true);
  });

  test('the first start that labels goes through every refuser once, though their decisions were all applied before', async () => {
    const reconciled = new ReconciledPatients();
    const setLabelled = reconciled.setLabelled.bind(reconciled);
    // A mapper from before labels: it applied the refusals to every study, and never marked the record labelled.
    reconciled.setLabelled = () => undefined;
    const before = setup('opt-out', new FakeIndex(), reconciled);
    await before.gate.sweep();
    await before.record(OTHER, [patientWide('deny')]);
    await before.record(KEY, [byUid('deny', uidOf('a'))]);
    await before.gate.stop();
    reconciled.setLabelled = setLabelled;
    const labelled = new Set<string>();
    const start = () => {
      const index = new FakeIndex();
      const life = setup('opt-out', index, reconciled, undefined, labelled);
      life.consent.set(OTHER, [patientWide('deny')]);
      life.consent.set(KEY, [byUid('deny', uidOf('a'))]);
      return { ...life, index };
    };

    const upgraded = start();
    const { patients, labelled: count } = await upgraded.gate.sweep();
    expect({ patients, count }).toEqual({ patients: 0, count: 1 });
    expect(upgraded.labels.calls).toEqual([OTHER]);
    // Label only: the refuser's studies were decided before.
    expect(upgraded.index.calls).toEqual([]);
    expect(labelled.has(OTHER)).toBe(true);

    const later = start();
    expect(await later.gate.sweep()).toEqual(expect.objectContaining({ patients: 0 }));
    expect((await later.gate.sweep()).labelled).toBeUndefined();
    expect(later.labels.calls).toEqual([]);
  });

  test('a refusal labels the record before the studies are withdrawn; an agreement unlabels it after they are published again', async () => {
    const index = new FakeIndex();
    const { gate, record, labels } = setup('opt-out', index);
    for (const snapshot of Object.values(studies)) await gate.onStudy(snapshot);
    const sync = labels.sync;
    labels.sync = async (key) => {
      index.calls.push(`label ${key}`);
      return sync(key);
    };
    index.calls.length = 0;

    await record(KEY, [patientWide('deny')]);
    expect(index.calls[0]).toBe(`label ${KEY}`);
    expect(index.calls.slice(1).every((call) => call.startsWith('withdraw'))).toBe(true);

    index.calls.length = 0;
    await record(KEY, [patientWide('permit')]);
    expect(index.calls.at(-1)).toBe(`label ${KEY}`);
    expect(index.calls.slice(0, -1).every((call) => call.startsWith('publish'))).toBe(true);
  });

  test('a label that fails after a publication fails the study event and marks the patient for the next start', async () => {
    const { consent, gate, labels, reconciled } = setup('opt-out');
    consent.set(KEY, [patientWide('deny'), byUid('permit', uidOf('a'))]);
    labels.fail = new FhirError('bad request', 400);
    await expect(gate.onStudy(studies.a)).rejects.toThrow('bad request');
    expect(reconciled.fingerprintOf(KEY)).toBeNull();
  });
});

describe('the periodic check of the patients\' records (linked, unlinked, labelled otherwise since)', () => {
  const REGIONAL = 'urn:oid:1.2.250.1.999.9|R1';

  /** One node: the hospital's studies published, the regional decisions recorded, no record linking them yet. */
  async function before(policy: ConsentPolicy, decisions: Decision[]) {
    const index = new FakeIndex();
    const context = setup(policy, index);
    await context.record(REGIONAL, decisions);
    context.links.records.push([REGIONAL]);
    for (const snapshot of Object.values(studies)) await context.gate.onStudy(snapshot);
    return { ...context, index };
  }

  test('a record a master patient index wrote since the refusal, linking it to the hospital identifier: labelled, and the studies it links withdrawn', async () => {
    const { gate, labels, links, index } = await before('opt-out', [patientWide('deny')]);
    expect(namesIn(index)).toEqual(['a', 'b', 'c']);
    links.records.push([KEY, REGIONAL]);

    expect(await gate.checkRecords()).toEqual({ patients: 1, reapplied: 1 });

    expect(labels.labelled.has(REGIONAL)).toBe(true);
    expect(namesIn(index)).toEqual([]);
    expect(await gate.checkRecords()).toEqual({ patients: 1, reapplied: 0 });
  });

  test('a refusal of one study under the regional identifier, linked afterwards: that study is withdrawn', async () => {
    const { gate, links, index } = await before('opt-out', [byUid('deny', uidOf('b'))]);
    links.records.push([KEY, REGIONAL]);
    await gate.checkRecords();
    expect(namesIn(index)).toEqual(['a', 'c']);
  });

  test('opt-in, an agreement under the regional identifier, linked afterwards: the held studies are published', async () => {
    const { gate, links, index } = await before('opt-in', [patientWide('permit')]);
    expect(namesIn(index)).toEqual([]);
    links.records.push([KEY, REGIONAL]);
    await gate.checkRecords();
    expect(namesIn(index)).toEqual(['a', 'b', 'c']);
  });

  test('a link undone: the studies are decided without the regional refusal again', async () => {
    const { gate, links, index } = await before('opt-out', [patientWide('deny')]);
    links.records.push([KEY, REGIONAL]);
    await gate.checkRecords();
    expect(namesIn(index)).toEqual([]);
    links.records.splice(links.records.findIndex((record) => record.includes(KEY)), 1);
    await gate.checkRecords();
    expect(namesIn(index)).toEqual(['a', 'b', 'c']);
  });

  test('a record whose label is not what the decisions say (written unlabelled since) is labelled', async () => {
    const { gate, labels } = await before('opt-out', [patientWide('deny')]);
    labels.labelled.delete(REGIONAL);
    expect(await gate.checkRecords()).toEqual({ patients: 1, reapplied: 1 });
    expect(labels.labelled.has(REGIONAL)).toBe(true);
  });
});

describe('a patient known by several identifiers (a record in the index links them)', () => {
  const REGIONAL = 'urn:oid:1.2.250.1.999.9|R1';

  function linked(policy: ConsentPolicy = 'opt-out') {
    const index = new FakeIndex();
    const context = setup(policy, index);
    context.links.records.push([KEY, REGIONAL]);
    return { ...context, index };
  }

  test('a refusal recorded under the other identifier withdraws the studies filed under this one', async () => {
    const { gate, record, index } = linked();
    for (const snapshot of Object.values(studies)) await gate.onStudy(snapshot);
    expect(namesIn(index)).toEqual(['a', 'b', 'c']);

    await record(REGIONAL, [patientWide('deny')]);

    expect(namesIn(index)).toEqual([]);
  });

  test('a study arriving after that refusal is withheld; the refusal revoked, every study is published again', async () => {
    const { gate, record, index } = linked();
    await record(REGIONAL, [patientWide('deny')]);
    expect((await gate.onStudy(studies.a)).outcome).toBe('withheld');
    await gate.onStudy(studies.b);

    await record(REGIONAL, []);

    expect(namesIn(index)).toEqual(['a', 'b']);
  });

  test('a refusal under one identifier beats an agreement to the study under the other (the gateway\'s rule)', async () => {
    const { consent, gate } = linked();
    consent.set(REGIONAL, [patientWide('deny')]);
    consent.set(KEY, [byUid('permit', uidOf('a'))]);
    expect((await gate.onStudy(studies.a)).outcome).toBe('withheld');
  });

  test('when the linked identifiers cannot be read, the study event fails (retried) and a decision is left to the next start', async () => {
    const { gate, record, links, reconciled, index } = linked();
    await gate.onStudy(studies.a);
    links.fail = new FhirError('busy', 503);
    await expect(gate.onStudy(studies.b)).rejects.toThrow('busy');
    links.fail = new FhirError('bad request', 400);
    await record(REGIONAL, [patientWide('deny')]);
    expect(namesIn(index)).toEqual(['a']);
    expect(reconciled.fingerprintOf(REGIONAL)).toBeUndefined();
  });
});

describe('failures', () => {
  test('a passing failure while applying a decision is retried until it succeeds; a permanent one is counted and the next study handled', async () => {
    const index = new FakeIndex();
    const { gate, record, metrics } = setup('opt-out', index);
    for (const snapshot of Object.values(studies)) await gate.onStudy(snapshot);
    const failures = new Map<string, Error[]>([
      [uidOf('a'), [new FhirError('down', undefined), new FhirError('busy', 503)]],
      [uidOf('b'), [new FhirError('bad request', 400)]],
    ]);
    const withdraw = index.withdraw;
    index.withdraw = async (uid) => {
      const next = failures.get(uid)?.shift();
      if (next) throw next;
      return withdraw(uid);
    };

    await record(KEY, [patientWide('deny')]);

    expect(namesIn(index)).toEqual(['b']);
    const counted = await metrics.getSingleMetricAsString('facade_mapper_consent_outcomes_total');
    expect(counted).toContain('trigger="decision",outcome="withdrawn"} 2');
    expect(counted).toContain('trigger="decision",outcome="failed"} 1');
  });

  test('while a withdrawal is retried the patient\'s lock is free between attempts: a new study of the patient is still decided, and withheld', async () => {
    const index = new FakeIndex();
    const { gate, record } = setup('opt-out', index);
    await gate.onStudy(studies.a);
    let fhirBack = false;
    const withdraw = index.withdraw;
    index.withdraw = async (uid) => {
      if (uid === uidOf('a') && !fhirBack) throw new FhirError('down', undefined);
      return withdraw(uid);
    };

    const refusal = record(KEY, [patientWide('deny')]);
    expect((await gate.onStudy(studies.b)).outcome).toBe('withheld');
    expect(index.published.has(uidOf('a'))).toBe(true);
    fhirBack = true;
    await refusal;

    expect(index.published.size).toBe(0);
  });

  test('when the consent view has stopped following its topic, no study is decided on it (fail closed), and the consumer retries', async () => {
    const index = new FakeIndex();
    const { gate, consent } = setup('opt-out', index);
    consent.error = new Error('the reader of consent.patient-decisions.v1 stopped');
    const failure = await gate.onStudy(studies.a).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConsentUnavailableError);
    expect(isRetryableGateError(failure)).toBe(true);
    expect(index.calls).toEqual([]);
  });

  test.each<[string, unknown, boolean]>([
    ['FHIR unreachable', new FhirError('down', undefined), true],
    ['FHIR 412', new FhirError('conflict', 412), true],
    ['FHIR 400', new FhirError('bad', 400), false],
    ['the consent view down', new ConsentUnavailableError(new Error('x')), true],
    ['a bug', new TypeError('x is undefined'), false],
  ])('retry rule: %s → %s', (_situation, error, retryable) => {
    expect(isRetryableGateError(error)).toBe(retryable);
  });

  test('a failure while a study event is handled goes to the consumer (retry or dead letter)', async () => {
    const index = new FakeIndex();
    index.publish = async () => {
      throw new FhirError('busy', 503);
    };
    const { gate } = setup('opt-out', index);
    await expect(gate.onStudy(studies.a)).rejects.toThrow('busy');
  });

  test('stop ends the retries and waits for the work under way', async () => {
    const index = new FakeIndex();
    const { gate, record } = setup('opt-out', index);
    await gate.onStudy(studies.a);
    index.withdraw = async () => {
      throw new FhirError('down', undefined);
    };
    const refusal = record(KEY, [patientWide('deny')]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await gate.stop();
    await refusal;
    expect(index.published.has(uidOf('a'))).toBe(true);
  });
});
