import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

  const startCatalog = async (keepSnapshots = false, directory?: string) => {
    const catalog = new StudyCatalog({ kafka, topicPrefix: prefix, defaultPatientIdSystem: SYSTEM, logger, keepSnapshots, directory });
    catalogs.push(catalog);
    await catalog.start();
    return catalog;
  };
  const stopCatalog = async (catalog: StudyCatalog) => {
    catalogs.splice(catalogs.indexOf(catalog), 1);
    await catalog.stop();
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

  test('restarted on its file, the catalogue reads only what the topic got since, and holds what it held', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'study-catalog-'));
    const first = studySnapshot({ patientId: 'P1', accessionNumber: 'A1' });
    const second = studySnapshot({ patientId: 'P1', accessionNumber: 'A2' });
    for (const snapshot of [first, second]) {
      await sendStudy(producer, prefix, snapshot);
    }
    const before = await startCatalog(true, directory);
    await before.ready();
    expect(before.recordsRead).toBe(2);
    expect(before.isReady()).toBe(true);
    await stopCatalog(before);
    // Its file is closed: the desk answers 503 rather than reading it.
    expect(before.isReady()).toBe(false);

    const later = studySnapshot({ patientId: 'P2', accessionNumber: 'A3' });
    await sendStudy(producer, prefix, later);
    await sendRaw(producer, topicName(STUDY_COMPLETED_V1.topic, prefix), first.studyInstanceUid, null);
    const after = await startCatalog(true, directory);
    await after.ready();
    expect(after.file).toBe(path.join(directory, `${topicName(STUDY_COMPLETED_V1.topic, prefix)}.sqlite`));
    expect(after.recordsRead).toBe(2);
    expect(after.size).toBe(2);
    expect(after.studiesOf(`${SYSTEM}|P1`).map((study) => study.accessionNumber)).toEqual(['A2']);
    expect(after.snapshotOf(second.studyInstanceUid)).toEqual(second);
    expect(after.findByIdentifier('P2').map((patient) => patient.studies.map((study) => study.accessionNumber))).toEqual([['A3']]);
  });

  test('a file in use by a running catalogue is refused, saying so', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'study-catalog-'));
    await startCatalog(false, directory);
    expect(() => new StudyCatalog({ kafka, topicPrefix: prefix, defaultPatientIdSystem: SYSTEM, logger, directory })).toThrow(/is another process using it\?/);
  });

  test('when the topic was deleted and made again, the file is read anew from the new topic', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'study-catalog-'));
    const old = [studySnapshot({ patientId: 'P1' }), studySnapshot({ patientId: 'P2' }), studySnapshot({ patientId: 'P3' })];
    for (const snapshot of old) {
      await sendStudy(producer, prefix, snapshot);
    }
    const before = await startCatalog(false, directory);
    await before.ready();
    await stopCatalog(before);

    const topic = topicName(STUDY_COMPLETED_V1.topic, prefix);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [topic] });
      // The broker forgets a deleted topic shortly after: until then it cannot be made again.
      await eventually(async () => {
        await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
        return (await admin.fetchTopicOffsets(topic)).length === 3 ? true : undefined;
      }, 'the topic made again');
    } finally {
      await admin.disconnect();
    }
    const fresh = studySnapshot({ patientId: 'P4' });
    await sendStudy(producer, prefix, fresh);

    const after = await startCatalog(false, directory);
    await after.ready();
    expect(after.size).toBe(1);
    expect(after.study(fresh.studyInstanceUid)?.patientKey).toBe(`${SYSTEM}|P4`);
  });
});
