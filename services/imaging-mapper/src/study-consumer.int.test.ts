import { Partitioners, type Consumer, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { generatePseudonymKey, pseudonymizer, ReconciledPatients, StudyCatalog } from '@imaging-facade/consent';
import { DEAD_LETTER_V1, DEFAULT_PATIENT_ID_SYSTEM, makeEvent, STUDY_COMPLETED_V1, topicName } from '@imaging-facade/events';
import { createFhirClient } from '@imaging-facade/fhir';
import { createKafka, ensureTopics, EventPublisher } from '@imaging-facade/kafka';
import { createLogger } from '@imaging-facade/service-kit';
import { eventually } from '../../../test/support/wait';
import { ConsentGate } from './consent/consent-gate';
import { mapStudySnapshot } from './pipeline';
import { startStudyConsumer } from './study-consumer';
import { withdrawStudy } from './consent/withdrawal';
import { fhirServer } from './test-support/fhir-server';
import { attr, newUid, studySnapshot } from './test-support/study-events';

/** The consumer against a real Kafka broker (KAFKA_BROKERS) and FHIR server (FHIR_BASE_URL). */
const fhir = createFhirClient({
  baseUrl: process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir',
  timeoutMs: 30_000,
});
const kafka = createKafka(
  { clientId: 'mapper-int-test', brokers: (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',') },
  createLogger('mapper-int-test', 'silent'),
);
const prefix = `mapper-int-${newUid().slice(-10)}.`;
const studyTopic = topicName(STUDY_COMPLETED_V1.topic, prefix);
const deadLetterTopic = topicName(DEAD_LETTER_V1.topic, prefix);

let producer: Producer;
let deadLetters: Consumer;
const deadLettered: KafkaMessage[] = [];
let mapper: { stop: () => Promise<void> };

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [STUDY_COMPLETED_V1, DEAD_LETTER_V1], prefix);
  await admin.disconnect();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  deadLetters = kafka.consumer({ groupId: `${prefix}dlq-reader` });
  await deadLetters.connect();
  await deadLetters.subscribe({ topic: deadLetterTopic, fromBeginning: true });
  await deadLetters.run({ eachMessage: async ({ message }) => void deadLettered.push(message) });
  const settings = { defaultPatientIdSystem: 'https://imagingfacade.org/fhir/sid/patient-id/int-test' };
  // Opt-out without any decision: every study is shared (consent itself is proven end to end).
  const gate = new ConsentGate({
    consent: { policy: 'opt-out', patients: () => [], stateOf: () => undefined },
    catalog: new StudyCatalog({ kafka: {} as Kafka, topicPrefix: prefix, defaultPatientIdSystem: settings.defaultPatientIdSystem, logger: createLogger('catalog', 'silent'), keepSnapshots: true }),
    index: { publish: (snapshot) => mapStudySnapshot(snapshot, fhir, settings), withdraw: (uid) => withdrawStudy(fhir, uid) },
    labels: { sync: async () => ({ labelled: 0, unlabelled: 0 }) },
    links: { keysOf: async (key) => [key], recordsHolding: async () => [] },
    reconciled: new ReconciledPatients(),
    defaultPatientIdSystem: settings.defaultPatientIdSystem,
    logger: createLogger('gate', 'silent'),
    pseudonymize: pseudonymizer(generatePseudonymKey()),
    metrics: new Registry(),
  });
  mapper = await startStudyConsumer({
    kafka,
    groupId: `${prefix}mapper`,
    topic: studyTopic,
    deadLetterTopic,
    publisher: new EventPublisher(producer),
    gate,
    logger: createLogger('imaging-mapper', 'silent'),
    metrics: new Registry(),
    defaultPatientIdSystem: DEFAULT_PATIENT_ID_SYSTEM,
  });
});

afterAll(async () => {
  await mapper?.stop();
  await deadLetters?.disconnect();
  await producer?.disconnect();
});

/** Publishes a snapshot; `key` decides the partition (the StudyInstanceUID unless said otherwise). */
async function publish(data: ReturnType<typeof studySnapshot>, key = data.studyInstanceUid): Promise<void> {
  const event = makeEvent(STUDY_COMPLETED_V1.type, 'mapper-int-test', data.studyInstanceUid, data);
  await new EventPublisher(producer).publish(studyTopic, key, event);
}

describe('the study-completed consumer', () => {
  it('when a study is completed, its ImagingStudy appears in FHIR', async () => {
    const data = studySnapshot({
      patient: { PatientID: attr('LO', `MAPPER-KAFKA-${newUid().slice(-8)}`) },
      series: [{ instances: 2 }],
    });
    await publish(data);
    const [study] = await eventually(
      async () => {
        const found = await fhirServer(fhir).studiesByUid(data.studyInstanceUid);
        return found.length > 0 ? found : undefined;
      },
      { what: 'the ImagingStudy' },
    );
    expect(study?.numberOfInstances).toBe(2);
  });

  it('when a study has no PatientID, it goes to the dead-letter topic with the reason and its partition moves on', async () => {
    const bad = studySnapshot({ patient: { PatientID: attr('LO') }, series: [{ instances: 1 }] });
    const good = studySnapshot({ series: [{ instances: 1 }] });
    await publish(bad);
    await publish(good, bad.studyInstanceUid); // same key: same partition, right behind the bad one

    const message = await eventually(
      async () => deadLettered.find((entry) => entry.key?.toString() === bad.studyInstanceUid),
      { what: 'the dead-lettered event' },
    );
    expect(message.headers?.[DEAD_LETTER_V1.headers.reason]?.toString()).toMatch(/no PatientID/);
    await eventually(
      async () => ((await fhirServer(fhir).studiesByUid(good.studyInstanceUid)).length === 1 ? true : undefined),
      {
        what: 'the study behind the dead-lettered one',
      },
    );
  });

  it('when a study\'s issuer is 64 Japanese characters, it is indexed under one Patient, and the next study of its partition too', async () => {
    // The longest IssuerOfPatientID (LO): its match URL is past the 768 characters HAPI stores, which
    // until 2026-12-07 failed for ever and held every partition.
    const issuer = `${newUid().slice(-8)}${'東京都立駒込病院放射線診断科画像管理部門'.repeat(3)}`.slice(0, 64);
    const patientId = `PM-${newUid().slice(-8)}`;
    const long = studySnapshot({ patient: { PatientID: attr('LO', patientId), IssuerOfPatientID: attr('LO', issuer) }, series: [{ instances: 1 }] });
    const next = studySnapshot({ series: [{ instances: 1 }] });
    await publish(long);
    await publish(next, long.studyInstanceUid);

    for (const data of [long, next]) {
      await eventually(async () => ((await fhirServer(fhir).studiesByUid(data.studyInstanceUid)).length === 1 ? true : undefined), { what: 'the study indexed' });
    }
    const [study] = await fhirServer(fhir).studiesByUid(long.studyInstanceUid);
    const system = `https://imagingfacade.org/fhir/sid/patient-id/${encodeURIComponent(issuer)}`;
    const patients = await fhir.search('Patient', { identifier: `${system}|${patientId}` });
    expect(patients).toHaveLength(1);
    expect(study?.subject?.reference).toBe(`Patient/${patients[0]!.id}`);
    expect(patients[0]!.identifier).toContainEqual(expect.objectContaining({ system, value: patientId }));
    expect(deadLettered.some((entry) => entry.key?.toString() === long.studyInstanceUid)).toBe(false);
  });

  it('when a PatientID has a control character, the study is dead-lettered saying so (the desk could not record a refusal), and the partition moves on', async () => {
    const bad = studySnapshot({ patient: { PatientID: attr('LO', `PM-${newUid().slice(-6)}\u0001ctl`) }, series: [{ instances: 1 }] });
    const next = studySnapshot({ series: [{ instances: 1 }] });
    await publish(bad);
    await publish(next, bad.studyInstanceUid);

    const message = await eventually(async () => deadLettered.find((entry) => entry.key?.toString() === bad.studyInstanceUid), { what: 'the dead-lettered event' });
    const reason = message.headers?.[DEAD_LETTER_V1.headers.reason]?.toString() ?? '';
    expect(reason).toMatch(/PatientID: has no control or invisible character/);
    expect(reason).not.toContain('ctl');
    await eventually(async () => ((await fhirServer(fhir).studiesByUid(next.studyInstanceUid)).length === 1 ? true : undefined), { what: 'the study behind it' });
    expect(await fhirServer(fhir).studiesByUid(bad.studyInstanceUid)).toEqual([]);
  });
});
