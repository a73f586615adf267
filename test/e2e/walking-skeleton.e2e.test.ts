import type { ImagingStudy, Patient } from '@medplum/fhirtypes';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { runDcmtk, storescu } from '../support/dcmtk';
import { read, studiesByUid, validationErrors } from '../support/fhir';
import { metric, startPipeline, type Pipeline } from '../support/pipeline';
import { SAMPLES } from '../support/sample-files';
import { addSeries, makeStudy, type GeneratedStudy } from '../support/study-factory';
import { eventually } from '../support/wait';

/**
 * End to end: DCMTK's storescu → our dicom-ingest (C-STORE SCP) → the real Kafka broker → our
 * imaging-mapper → the real HAPI FHIR server, checked the way an EHR app would query it.
 */

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const CT_IMAGE_STORAGE = 'urn:oid:1.2.840.10008.5.1.4.1.1.2';
const MR_IMAGE_STORAGE = 'urn:oid:1.2.840.10008.5.1.4.1.1.4';
const LATE_SERIES_DELAY_MS = Number(process.env.E2E_LATE_SERIES_DELAY_MS ?? 60_000);

let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await startPipeline();
});

afterAll(async () => {
  await pipeline?.stop();
});

/** Waits until exactly one ImagingStudy exists for the study and `ready` holds for it. */
async function publishedStudy(
  study: GeneratedStudy,
  ready: (found: ImagingStudy) => boolean = () => true,
  timeoutMs = 60_000,
): Promise<ImagingStudy> {
  return eventually(
    async () => {
      const found = await studiesByUid(study.studyInstanceUid);
      if (found.length > 1) {
        throw new Error(`${found.length} ImagingStudy resources for one study`);
      }
      return found.length === 1 && ready(found[0]) ? found[0] : undefined;
    },
    { timeoutMs, what: `the ImagingStudy of ${study.studyInstanceUid}` },
  );
}

async function sendAll(files: string[]): Promise<void> {
  const result = await storescu(pipeline.dicomPort, files);
  expect(result.stderr).not.toMatch(/E: /);
  expect(result.code).toBe(0);
}

describe('a study sent over DICOM becomes one ImagingStudy in the FHIR server', () => {
  test('a multi-series study (CT and MR) is published element by element', async () => {
    const study = await makeStudy([
      { source: SAMPLES.ctExplicitLittle, instances: 3 },
      { source: SAMPLES.mrExplicitLittle, instances: 2 },
    ]);
    await sendAll(study.files);

    const published = await publishedStudy(study);
    const [ct, mr] = study.series;

    expect(published.identifier).toContainEqual({ system: 'urn:dicom:uid', value: `urn:oid:${study.studyInstanceUid}` });
    expect(published.status).toBe('available');
    expect(published.started).toMatch(/^2024-01-05/);
    expect(published.numberOfSeries).toBe(2);
    expect(published.numberOfInstances).toBe(5);
    expect(published.modality?.map((m) => [m.system, m.code]).sort()).toEqual([
      [DCM, 'CT'],
      [DCM, 'MR'],
    ]);

    const seriesByUid = new Map(published.series?.map((s) => [s.uid, s]));
    expect([...seriesByUid.keys()].sort()).toEqual([ct.seriesInstanceUid, mr.seriesInstanceUid].sort());
    for (const [generated, sopClass, modality] of [
      [ct, CT_IMAGE_STORAGE, 'CT'],
      [mr, MR_IMAGE_STORAGE, 'MR'],
    ] as const) {
      const series = seriesByUid.get(generated.seriesInstanceUid);
      expect(series?.number).toBe(generated.seriesNumber);
      expect(series?.modality).toEqual({ system: DCM, code: modality });
      expect(series?.numberOfInstances).toBe(generated.files.length);
      const instances = [...(series?.instance ?? [])].sort((a, b) => (a.number ?? 0) - (b.number ?? 0));
      expect(instances.map((i) => i.uid)).toEqual(generated.sopInstanceUids);
      expect(instances.map((i) => i.number)).toEqual(generated.sopInstanceUids.map((_, index) => index + 1));
      for (const instance of instances) {
        expect(instance.sopClass).toEqual({ system: 'urn:ietf:rfc:3986', code: sopClass });
      }
    }

    const patient = await read<Patient>(published.subject.reference ?? 'missing-subject');
    expect(patient.identifier?.map((i) => i.value)).toContain(study.patientId);

    expect(await validationErrors(published)).toEqual([]);
    expect(await validationErrors(patient)).toEqual([]);
  });

  test('when the same study is sent again, nothing is duplicated and the resource does not change', async () => {
    const study = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 2 }]);
    await sendAll(study.files);
    const first = await publishedStudy(study);
    const processedBefore = await metric(pipeline.mapperPort, 'facade_consumed_messages_total', { outcome: 'processed' });

    await sendAll(study.files);
    // The mapper has handled the new snapshot once its processed count has moved on.
    await eventually(
      async () =>
        (await metric(pipeline.mapperPort, 'facade_consumed_messages_total', { outcome: 'processed' })) > processedBefore
          ? true
          : undefined,
      { timeoutMs: 30_000, what: 'the re-sent study to be mapped' },
    );

    const again = await studiesByUid(study.studyInstanceUid);
    expect(again).toHaveLength(1);
    expect(again[0].id).toBe(first.id);
    expect(again[0].meta?.versionId).toBe(first.meta?.versionId);
    expect(again[0].numberOfInstances).toBe(2);
  });

  test(
    'when a second series arrives later, the same ImagingStudy is updated, not duplicated',
    async () => {
      const study = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 2 }]);
      await sendAll(study.files);
      const first = await publishedStudy(study);
      expect(first.numberOfSeries).toBe(1);

      await new Promise((resolve) => setTimeout(resolve, LATE_SERIES_DELAY_MS));
      const late = await addSeries(study, { source: SAMPLES.mrExplicitLittle, instances: 1 });
      await sendAll(late.files);

      const updated = await publishedStudy(study, (found) => found.numberOfSeries === 2);
      expect(updated.id).toBe(first.id);
      expect(updated.numberOfInstances).toBe(3);
      expect(updated.series?.map((s) => s.uid).sort()).toEqual(study.series.map((s) => s.seriesInstanceUid).sort());
    },
    LATE_SERIES_DELAY_MS + 120_000,
  );

  test('every transfer syntax modalities send is accepted and published', async () => {
    // storescu option that proposes exactly the file's own transfer syntax (with -R), as a modality
    // sending what it encoded would: nothing is decompressed on the way.
    const cases: Array<[string, string]> = [
      [SAMPLES.mrImplicitLittle, '-xi'],
      [SAMPLES.mrExplicitBig, '-xb'],
      [SAMPLES.mrRle, '-xr'],
      [SAMPLES.mrJpegLs, '-xt'],
      [SAMPLES.mrJpeg2000Lossless, '-xv'],
      [SAMPLES.jpegExtended, '-xx'],
      [SAMPLES.jpegBaseline, '-xy'],
      [SAMPLES.deflated, '-xd'],
    ];
    const study = await makeStudy(cases.map(([source]) => ({ source, instances: 1 })));
    for (const [index, [, option]] of cases.entries()) {
      const result = await storescu(pipeline.dicomPort, study.series[index].files, { args: ['-R', option] });
      expect({ option, code: result.code, errors: result.stderr.match(/^E: .*$/gm) }).toEqual({ option, code: 0, errors: null });
    }
    const published = await publishedStudy(study, (found) => found.numberOfInstances === cases.length);
    expect(published.numberOfSeries).toBe(cases.length);
  });
});

describe('bad input is refused clearly and loses nothing', () => {
  test('an instance without a Study Instance UID gets a failure status, is not published, and its patient is not logged', async () => {
    const study = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 1 }], `BAD-${Date.now()}`);
    const removed = await runDcmtk('dcmodify', ['-nb', '-e', '(0020,000D)', study.files[0]]);
    expect(removed.code).toBe(0);

    const result = await storescu(pipeline.dicomPort, study.files, { args: ['-v'] });

    // storescu reports the SCP's failure status for the instance: 0xC000, "cannot understand".
    expect(`${result.stdout}\n${result.stderr}`).toMatch(/Received Store Response \(Error: Cannot ?understand\)/i);
    const logs = await eventually(
      async () => (/"level":"(warn|error)"/.test(pipeline.ingest.logs()) ? pipeline.ingest.logs() : undefined),
      { what: 'the rejection to be logged' },
    );
    expect(logs).not.toContain(study.patientId);
    expect(logs).not.toContain('CompressedSamples'); // the sample file's patient name
    expect(await studiesByUid(study.studyInstanceUid)).toEqual([]);
  });

  test('a poison event goes to the dead-letter topic and does not block its partition', async () => {
    const study = await makeStudy([{ source: SAMPLES.mrExplicitLittle, instances: 1 }]);
    const kafka = new Kafka({ clientId: 'e2e', brokers: [process.env.KAFKA_BROKERS ?? 'localhost:9092'], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    // Same key as the study that follows: same partition, so a blocked partition would hold it back.
    await producer.send({
      topic: `${pipeline.topicPrefix}imaging.study-completed.v1`,
      messages: [{ key: study.studyInstanceUid, value: '{"specversion":"1.0","this is":"not a study"}' }],
    });
    await producer.disconnect();

    await sendAll(study.files);
    await publishedStudy(study);

    const deadLetters = await readTopic(kafka, `${pipeline.topicPrefix}imaging.dead-letter.v1`, (message) =>
      message.key?.toString() === study.studyInstanceUid ? message : undefined,
    );
    expect(deadLetters.value?.toString()).toContain('not a study');
    expect(deadLetters.headers?.['x-dlq-reason']?.toString()).toMatch(/invalid event/);
    expect(deadLetters.headers?.['x-dlq-source-topic']?.toString()).toBe(`${pipeline.topicPrefix}imaging.study-completed.v1`);
  });
});

/** Reads a topic from the beginning until `pick` returns a message. */
async function readTopic(
  kafka: Kafka,
  topic: string,
  pick: (message: KafkaMessage) => KafkaMessage | undefined,
): Promise<KafkaMessage> {
  const consumer = kafka.consumer({ groupId: `e2e-reader-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let found: KafkaMessage | undefined;
  await consumer.run({
    eachMessage: async ({ message }) => {
      found ??= pick(message);
    },
  });
  try {
    return await eventually(async () => found, { what: `a message on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
}
