import type { Kafka, Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { ConsentView, pseudonymizer, pseudonymKey, type PatientConsentState } from '@imaging-facade/consent';
import { connectedProducer, eventually, testKafka, uniquePrefix } from '@imaging-facade/consent/src/test-support/kafka';
import { testUid } from '@imaging-facade/consent/src/test-support/snapshots';
import { CONSENT_DECISION_V1, topicName, type ConsentDecisionV1 } from '@imaging-facade/events';
import { createFhirClient, type FhirClient } from '@imaging-facade/fhir';
import { EventPublisher } from '@imaging-facade/kafka';
import { createLogger } from '@imaging-facade/service-kit';
import { ConsentStore } from './consent-store';
import { DecisionService } from './decisions';
import { StatePublisher } from './state-publisher';

const logger = createLogger('two-desks', 'silent');
const FHIR_BASE_URL = process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';
const HOLD_MS = 2_500;

/**
 * A FHIR server that is slow for this desk as HAPI was in the review's probe: the first Consent
 * search after a transaction is read at once and its answer held `HOLD_MS`, so the desk announces
 * the state it read then, after another desk's change.
 */
function slowAfterWrite(fhir: FhirClient, onHeld: () => void): FhirClient {
  let armed = false;
  return {
    baseUrl: fhir.baseUrl,
    search: (type, params) => fhir.search(type, params),
    metadata: () => fhir.metadata(),
    changeMeta: (...args) => fhir.changeMeta(...args),
    transaction: async (bundle) => {
      const response = await fhir.transaction(bundle);
      armed = true;
      return response;
    },
    searchAll: (type, params) => {
      if (!armed || type !== 'Consent') {
        return fhir.searchAll(type, params);
      }
      armed = false;
      return (async function* held() {
        const found = [];
        for await (const resource of fhir.searchAll(type, params)) found.push(resource);
        onHeld();
        await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
        yield* found;
      })();
    },
  };
}

describe('two consent desks on the same topic and FHIR server', () => {
  let kafka: Kafka;
  let producer: Producer;
  let prefix: string;
  const views: ConsentView[] = [];

  beforeAll(async () => {
    kafka = testKafka();
    producer = await connectedProducer(kafka);
  });

  afterAll(async () => {
    await Promise.all(views.splice(0).map((view) => view.stop()));
    await producer.disconnect();
  });

  const startView = async (): Promise<ConsentView> => {
    const view = new ConsentView({ kafka, topicPrefix: prefix, policy: 'opt-out', logger });
    views.push(view);
    await view.start();
    await view.ready();
    return view;
  };

  /** A desk's DecisionService; what it puts on the topic is written down in `published`. */
  const desk = (name: string, fhir: FhirClient, published: string[]): DecisionService => {
    const events = new EventPublisher(producer);
    const recording = {
      publish: async (topic: string, key: string, event: ConsentDecisionV1) => {
        await events.publish(topic, key, event);
        published.push(`${name}: ${event.data.decisions.map((decision) => decision.provision).join(',') || 'none'}`);
      },
    } as unknown as EventPublisher;
    const topic = topicName(CONSENT_DECISION_V1.topic, prefix);
    return new DecisionService({
      store: new ConsentStore(fhir),
      publisher: new StatePublisher(recording, topic, logger, pseudonymizer(pseudonymKey(Buffer.alloc(32, 7)))),
      catalog: { study: () => undefined, studiesOf: () => [] },
      settings: { policyUri: 'urn:imaging-facade:consent-policy:opt-out', organization: { name: 'Imaging Facade' } },
      logger,
      pseudonymize: pseudonymizer(pseudonymKey(Buffer.alloc(32, 7))),
      metrics: new Registry(),
    });
  };

  test('when a desk announces "permit" it read before another desk recorded "deny", every view, and one reading the topic anew, ends on the refusal FHIR holds', async () => {
    prefix = uniquePrefix();
    const patient = { system: 'urn:oid:1.2.250.1.71.4.2.7', value: `IPP-${testUid().slice(-10)}` };
    const running = await startView();
    const seen: string[] = [];
    running.onChange((_key, state) => void seen.push(state?.decisions.map((decision) => decision.provision).join(',') ?? 'none'));

    const published: string[] = [];
    let held!: () => void;
    const bHeld = new Promise<void>((resolve) => (held = resolve));
    const deskA = desk('A', createFhirClient({ baseUrl: FHIR_BASE_URL, timeoutMs: 15_000 }), published);
    const deskB = desk('B', slowAfterWrite(createFhirClient({ baseUrl: FHIR_BASE_URL, timeoutMs: 15_000 }), held), published);

    // B records "permit" and reads the patient's state back; A records "deny" while B's answer is held.
    const permit = deskB.record({ patient, provision: 'permit', user: 'desk-b' });
    await bHeld;
    const deny = await deskA.record({ patient, provision: 'deny', user: 'desk-a' });
    expect(deny.state.decisions.map((decision) => decision.provision)).toEqual(['deny']);
    await permit;
    // The situation of the probe: B's stale "permit" went onto the topic after A's "deny".
    expect(published.slice(0, 2)).toEqual(['A: deny', 'B: permit']);

    const inFhir: PatientConsentState = await deskA.current(patient);
    expect(inFhir.decisions.map((decision) => decision.provision)).toEqual(['deny']);
    const provisions = (view: ConsentView) => view.stateOf(patient)?.decisions.map((decision) => decision.provision).join(',');
    // A's state, then (by this change) B's announcement of FHIR's newer state: the same refusal.
    await eventually(() => (seen.length >= 2 ? true : undefined), 'the running view to read every announcement');
    expect(seen).toEqual(['deny', 'deny']);
    expect(provisions(running)).toBe('deny');
    const anew = await startView();
    expect(provisions(anew)).toBe('deny');
    expect(anew.decide(patient, { studyInstanceUid: testUid() })).toBe('withhold');
  });
});
