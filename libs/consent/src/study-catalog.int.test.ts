import type { Kafka, Producer } from 'kafkajs';
import { STUDY_COMPLETED_V1, topicName } from '@imaging-facade/events';
import { createLogger } from '@imaging-facade/service-kit';
import { StudyCatalog } from './study-catalog';
import { connectedProducer, createCompactedTopics, eventually, sendRaw, sendStudy, testKafka, uniquePrefix } from './test-support/kafka';
import { studySnapshot } from './test-support/snapshots';

const logger = createLogger('study-catalog-int', 'silent');
const SYSTEM = 'https://imagingfacade.org/fhir/sid/patient-id';

describe('StudyCatalog against a real Kafka broker', () => {
  let kafka: Kafka;
  let producer: Producer;
  let prefix: string;
  const catalogs: StudyCatalog[] = [];

  const startCatalog = async (keepSnapshots = false) => {
    const catalog = new StudyCatalog({ kafka, topicPrefix: prefix, defaultPatientIdSystem: SYSTEM, logger, keepSnapshots });
    catalogs.push(catalog);
    await catalog.start();
    return catalog;
  };

  beforeEach(async () => {
    kafka = testKafka();
    prefix = uniquePrefix();
    await createCompactedTopics(kafka, prefix);
    producer = await connectedProducer(kafka);
  });

  afterEach(async () => {
    await Promise.all(catalogs.splice(0).map((catalog) => catalog.stop()));
    await producer.disconnect();
  });

  test('the catalogue holds every study of the topic once ready, by patient, and finds patients', async () => {
    const first = studySnapshot({ patientId: 'P1', patientName: 'DUPONT^HELENE', birthDate: '19800101', accessionNumber: 'A1', studyDate: '20240105' });
    const second = studySnapshot({ patientId: 'P1', patientName: 'DUPONT^HELENE', birthDate: '19800101', accessionNumber: 'A2', studyDate: '20250105' });
    const other = studySnapshot({ patientId: 'P2', issuer: '1.2.250.1.71.4.2.7' });
    for (const snapshot of [first, second, other]) {
      await sendStudy(producer, prefix, snapshot);
    }
    const catalog = await startCatalog(true);
    await catalog.ready();
    expect(catalog.studiesOf(`${SYSTEM}|P1`).map((study) => study.accessionNumber)).toEqual(['A2', 'A1']);
    expect(catalog.findByIdentifier('P2').map((patient) => patient.key)).toEqual(['urn:oid:1.2.250.1.71.4.2.7|P2']);
    expect(catalog.findByNameAndBirthDate('dupont helene', '1980-01-01').map((patient) => patient.key)).toEqual([`${SYSTEM}|P1`]);
    expect(catalog.snapshotOf(other.studyInstanceUid)).toEqual(other);
  });

  test('a study arriving later is added, a tombstone removes it', async () => {
    const catalog = await startCatalog();
    await catalog.ready();
    const snapshot = studySnapshot({ patientId: 'P9' });
    await sendStudy(producer, prefix, snapshot);
    await eventually(() => (catalog.study(snapshot.studyInstanceUid) ? true : undefined), 'the study in the catalogue');
    await sendRaw(producer, topicName(STUDY_COMPLETED_V1.topic, prefix), snapshot.studyInstanceUid, null);
    await eventually(() => (catalog.study(snapshot.studyInstanceUid) ? undefined : true), 'the study to be forgotten');
    expect(catalog.patient(`${SYSTEM}|P9`)).toBeUndefined();
  });

  test('an invalid snapshot is skipped, the next one is read', async () => {
    await sendRaw(producer, topicName(STUDY_COMPLETED_V1.topic, prefix), '1.2.3', JSON.stringify({ data: { nope: true } }));
    const valid = studySnapshot({ patientId: 'P1' });
    await sendStudy(producer, prefix, valid);
    const catalog = await startCatalog();
    await catalog.ready();
    expect(catalog.size).toBe(1);
  });
});
