import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { association, Client, constants, Dataset, requests } from 'dcmjs-dimse';
import {
  INSTANCE_STORED_V1,
  instanceStoredV1Schema,
  STUDY_COMPLETED_V1,
  studyCompletedV1Schema,
  topicName,
  type InstanceStoredV1,
  type StudyCompletedV1,
} from '@imaging-facade/events';
import { createLogger, stopAll, type Stoppable } from '@imaging-facade/service-kit';
import { loadIngestConfig } from './config';
import { startIngestService } from './service';
import { relabel, runDcmtk as runTool, storeResponses } from '../../../test/support/dcmtk';
import { newUid } from '../../../test/support/uids';
import { eventually } from './test-support/manual-clock';
import { part10Layout, sample as testFile } from '../../../test/support/sample-files';

/**
 * The service against a real Kafka broker and real DCMTK peers (echoscu, storescu). Each run uses
 * its own topic prefix, consumer group, storage directory and UIDs.
 */

const BROKERS = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');
const AE_TITLE = 'FACADE_IT';
const QUIET_PERIOD_MS = 3000;

/** One sample per transfer syntax, with the storescu option that proposes exactly that syntax. */
const SAMPLES = [
  { file: 'CT_small.dcm', propose: '-xe' }, // explicit VR little endian
  { file: 'MR_small_implicit.dcm', propose: '-xi' }, // implicit VR little endian
  { file: 'MR_small_bigendian.dcm', propose: '-xb' }, // explicit VR big endian
  { file: 'image_dfl.dcm', propose: '-xd' }, // deflated explicit VR little endian
  { file: 'SC_rgb_jpeg_dcmtk.dcm', propose: '-xy' }, // JPEG baseline
  { file: 'JPEG-lossy.dcm', propose: '-xx' }, // JPEG extended
  { file: 'SC_rgb_jpeg_gdcm.dcm', propose: '-xs' }, // JPEG lossless SV1
  { file: 'MR_small_jpeg_ls_lossless.dcm', propose: '-xt' }, // JPEG-LS lossless
  { file: 'MR_small_jp2klossless.dcm', propose: '-xv' }, // JPEG 2000 lossless
  { file: 'JPEG2000.dcm', propose: '-xw' }, // JPEG 2000
  { file: 'MR_small_RLE.dcm', propose: '-xr' }, // RLE lossless
];

describe('dicom-ingest against Kafka and DCMTK', () => {
  const prefix = `it-ingest-${randomUUID().slice(0, 8)}.`;
  const parts: Stoppable[] = [];
  const logger = createLogger('dicom-ingest-it', process.env.LOG_LEVEL ?? 'silent');
  const instanceEvents: InstanceStoredV1[] = [];
  const studyEvents: StudyCompletedV1[] = [];
  const keys = new Map<string, string>();
  let storageDir: string;
  let workDir: string;
  let port: number;
  let consumer: Consumer;

  beforeAll(async () => {
    storageDir = await mkdtemp(path.join(tmpdir(), 'ingest-it-storage-'));
    workDir = await mkdtemp(path.join(tmpdir(), 'ingest-it-files-'));
    const config = loadIngestConfig({
      DICOM_PORT: '0',
      DICOM_AE_TITLE: AE_TITLE,
      INGEST_HTTP_PORT: '0',
      KAFKA_BROKERS: BROKERS.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      INGEST_STORAGE_DIR: storageDir,
      STUDY_QUIET_PERIOD_MS: String(QUIET_PERIOD_MS),
      DICOM_SHUTDOWN_GRACE_MS: '1000',
    });
    const running = await startIngestService(config, logger, (name, stop) => parts.push({ name, stop }));
    port = running.dicomPort;

    consumer = new Kafka({ clientId: 'ingest-it', brokers: BROKERS, logLevel: logLevel.NOTHING }).consumer({
      groupId: `${prefix}it-${randomUUID()}`,
    });
    await consumer.connect();
    await consumer.subscribe({
      topics: [topicName(INSTANCE_STORED_V1.topic, prefix), topicName(STUDY_COMPLETED_V1.topic, prefix)],
      fromBeginning: true,
    });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const value = JSON.parse(message.value?.toString('utf8') ?? 'null') as unknown;
        if (topic.endsWith(INSTANCE_STORED_V1.topic)) {
          const event = instanceStoredV1Schema.parse(value);
          keys.set(event.id, message.key?.toString('utf8') ?? '');
          instanceEvents.push(event);
        } else {
          const event = studyCompletedV1Schema.parse(value);
          keys.set(event.id, message.key?.toString('utf8') ?? '');
          studyEvents.push(event);
        }
      },
    });
  });

  afterAll(async () => {
    await consumer?.disconnect();
    await stopAll(parts, logger);
  });

  it('answers C-ECHO', async () => {
    const run = await runTool('echoscu', ['-aec', AE_TITLE, 'localhost', String(port)]);

    expect(run).toMatchObject({ code: 0, output: '' });
  });

  it('rejects an association calling another AE title', async () => {
    const run = await runTool('echoscu', ['-aec', 'SOMEONE_ELSE', 'localhost', String(port)]);

    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/Association Rejected/);
    expect(run.output).toMatch(/Called AE Title Not Recognized/);
  });

  it('stores instances of every transfer syntax byte for byte, announces each, then the whole study once', async () => {
    const study = newUid();
    const series = [newUid(), newUid(), newUid()];
    const sent = await Promise.all(
      SAMPLES.map(async (sample, index) => {
        const uids = { study, series: series[index % series.length]!, sop: newUid() };
        const file = await relabel(testFile(sample.file), workDir, uids);
        return { ...sample, ...uids, path: file };
      }),
    );

    // In parallel, on one association each: together well within one quiet period.
    const runs = await Promise.all(
      sent.map((sample) =>
        runTool('storescu', ['-v', '-R', sample.propose, '-aet', 'IT_MODALITY', '-aec', AE_TITLE, 'localhost', String(port), sample.path]),
      ),
    );
    runs.forEach((run, index) => expect({ file: sent[index]?.file, responses: storeResponses(run.output) }).toEqual({ file: sent[index]?.file, responses: ['Success'] }));

    for (const sample of sent) {
      const source = part10Layout(sample.path);
      const storedPath = path.join(storageDir, sample.study, sample.series, `${sample.sop}.dcm`);
      const stored = part10Layout(storedPath);
      expect(stored.transferSyntaxUid).toBe(source.transferSyntaxUid);
      expect(stored.sopInstanceUid).toBe(sample.sop);
      const received = (await readFile(storedPath)).subarray(stored.datasetOffset);
      const original = (await readFile(sample.path)).subarray(source.datasetOffset);
      // DCMTK pads an odd-length deflate stream with one NUL byte on the wire; nothing else may differ.
      const expected = received.length === original.length + 1 && received.at(-1) === 0 ? Buffer.concat([original, Buffer.alloc(1)]) : original;
      expect({ file: sample.file, equal: received.equals(expected) }).toEqual({ file: sample.file, equal: true });
    }

    await eventually(() => expect(instanceEvents.filter((event) => event.data.studyInstanceUid === study)).toHaveLength(SAMPLES.length), 30_000);
    const announced = instanceEvents.filter((event) => event.data.studyInstanceUid === study);
    expect(new Set(announced.map((event) => event.data.sopInstanceUid))).toEqual(new Set(sent.map((sample) => sample.sop)));
    expect(announced.every((event) => keys.get(event.id) === study)).toBe(true);
    expect(announced.every((event) => event.data.callingAeTitle === 'IT_MODALITY' && event.data.calledAeTitle === AE_TITLE)).toBe(true);

    await eventually(() => expect(studyEvents.filter((event) => event.data.studyInstanceUid === study)).toHaveLength(1), 30_000);
    const [completed] = studyEvents.filter((event) => event.data.studyInstanceUid === study);
    expect(keys.get(completed!.id)).toBe(study);
    expect(completed!.data.series).toHaveLength(series.length);
    const perSeries = Object.fromEntries(completed!.data.series.map((entry) => [entry.seriesInstanceUid, entry.instances.length]));
    expect(perSeries).toEqual(Object.fromEntries(series.map((uid, index) => [uid, SAMPLES.filter((_, i) => i % series.length === index).length])));
    expect(completed!.data.study['0020000D']).toEqual({ vr: 'UI', Value: [study] });
  });

  it('when a late instance arrives, publishes a new snapshot of the whole study', async () => {
    const study = newUid();
    const first = await relabel(testFile('CT_small.dcm'), workDir, { study, series: newUid(), sop: newUid() });
    await runTool('storescu', ['-aec', AE_TITLE, 'localhost', String(port), first]);
    await eventually(() => expect(studyEvents.filter((event) => event.data.studyInstanceUid === study)).toHaveLength(1), 30_000);

    const lateSeries = newUid();
    const late = await relabel(testFile('MR_small.dcm'), workDir, { study, series: lateSeries, sop: newUid() });
    await runTool('storescu', ['-aec', AE_TITLE, 'localhost', String(port), late]);

    await eventually(() => expect(studyEvents.filter((event) => event.data.studyInstanceUid === study)).toHaveLength(2), 30_000);
    const snapshot = studyEvents.filter((event) => event.data.studyInstanceUid === study)[1]!;
    expect(snapshot.data.series.map((entry) => entry.instances.length)).toEqual([1, 1]);
    expect(snapshot.data.series[1]?.seriesInstanceUid).toBe(lateSeries);
  });

  describe('an instance sent again under another series of its study (a series split or renumbered at the source)', () => {
    /** The study's snapshots published so far. */
    const snapshotsOf = (study: string) => studyEvents.filter((event) => event.data.studyInstanceUid === study);
    /** Each series of a snapshot with its instances. */
    const listing = (snapshot: StudyCompletedV1 | undefined) =>
      (snapshot?.data.series ?? []).map((entry) => ({ series: entry.seriesInstanceUid, instances: entry.instances.map((instance) => instance.sopInstanceUid).sort() }));
    const exists = (file: string) => stat(file).then(() => true, () => false);
    const send = async (...files: string[]) => storeResponses((await runTool('storescu', ['-v', '-aec', AE_TITLE, 'localhost', String(port), ...files])).output);

    /**
     * A study of two CTs, each in its own series, sent with storescu; `resend` sends the first again
     * with the second's Series Instance UID (dcmodify), as a modality that split or renumbered it.
     */
    async function twoSeriesStudy() {
      const uids = { study: newUid(), oldSeries: newUid(), newSeries: newUid(), sop: newUid(), other: newUid() };
      const moving = await relabel(testFile('CT_small.dcm'), workDir, { study: uids.study, series: uids.oldSeries, sop: uids.sop });
      const staying = await relabel(testFile('CT_small.dcm'), workDir, { study: uids.study, series: uids.newSeries, sop: uids.other });
      expect(await send(moving, staying)).toEqual(['Success', 'Success']);
      const resend = async () => {
        expect((await runTool('dcmodify', ['-nb', '-m', `(0020,000E)=${uids.newSeries}`, moving])).code).toBe(0);
        expect(await send(moving)).toEqual(['Success']);
      };
      return { ...uids, resend };
    }

    /** Listed once, under the new series; its old file and the series it left gone; one index line per instance. */
    async function expectMoved(moved: Awaited<ReturnType<typeof twoSeriesStudy>>, snapshot: StudyCompletedV1 | undefined): Promise<void> {
      const { study, oldSeries, newSeries, sop, other } = moved;
      expect(listing(snapshot)).toEqual([{ series: newSeries, instances: [sop, other].sort() }]);
      expect(snapshot?.data.series[0]?.instances.find((instance) => instance.sopInstanceUid === sop)?.storagePath).toBe(`${study}/${newSeries}/${sop}.dcm`);
      await eventually(async () => expect(await exists(path.join(storageDir, study, oldSeries))).toBe(false), 10_000);
      expect(await exists(path.join(storageDir, study, newSeries, `${sop}.dcm`))).toBe(true);
      await eventually(async () => {
        const text = await readFile(path.join(storageDir, study, 'study-index.ndjson'), 'utf8');
        const lines = text.trim().split('\n').map((line) => JSON.parse(line) as { sopInstanceUid: string; seriesInstanceUid: string });
        expect(lines.map((line) => [line.sopInstanceUid, line.seriesInstanceUid]).sort()).toEqual([[sop, newSeries], [other, newSeries]].sort());
      }, 10_000);
    }

    it('within one quiet period: the snapshot lists it once, under the series it was sent with last, and its first file is gone', async () => {
      const moved = await twoSeriesStudy();

      await moved.resend();

      await eventually(() => expect(snapshotsOf(moved.study)).toHaveLength(1), 30_000);
      await expectMoved(moved, snapshotsOf(moved.study)[0]);
    });

    it('after its study was published: the study is published again with it under the new series only, the old series gone, and the old file removed', async () => {
      const moved = await twoSeriesStudy();
      await eventually(() => expect(snapshotsOf(moved.study)).toHaveLength(1), 30_000);
      expect(listing(snapshotsOf(moved.study)[0]).map((entry) => entry.series).sort()).toEqual([moved.oldSeries, moved.newSeries].sort());

      await moved.resend();

      await eventually(() => expect(snapshotsOf(moved.study)).toHaveLength(2), 30_000);
      await expectMoved(moved, snapshotsOf(moved.study)[1]);
    });
  });

  it('keeps the study values of its first images when a later series comes without them (a derived series)', async () => {
    const study = newUid();
    const images = await relabel(testFile('CT_small.dcm'), workDir, { study, series: newUid(), sop: newUid() });
    const derived = await relabel(testFile('CT_small.dcm'), workDir, { study, series: newUid(), sop: newUid() });
    expect((await runTool('dcmodify', ['-nb', '-e', '(0008,1030)', '-e', '(0008,0080)', '-m', '(0008,0090)=', derived])).code).toBe(0);

    await runTool('storescu', ['-aec', AE_TITLE, 'localhost', String(port), images, derived]);

    await eventually(() => expect(studyEvents.filter((event) => event.data.studyInstanceUid === study)).toHaveLength(1), 30_000);
    const snapshot = studyEvents.find((event) => event.data.studyInstanceUid === study)!;
    expect(snapshot.data.study['00081030']?.Value).toEqual(['e+1']); // StudyDescription
    expect(snapshot.data.study['00080080']?.Value).toEqual(['JFK IMAGING CENTER']); // InstitutionName
    expect(snapshot.data.study['00100020']?.Value).toEqual(['1CT1']); // PatientID
  });

  it.each([
    { situation: 'no Study Instance UID', modify: ['-e', '(0020,000D)'] },
    { situation: 'a SOP Instance UID that is not a UID', modify: ['-m', '(0008,0018)=1.2.3.x'] },
    // Both would be "1.2.34" if letters were dropped: the second would overwrite the first, acknowledged.
    { situation: 'a SOP Instance UID with a letter in it (1.2.3A4), never cleaned into another UID', modify: ['-m', '(0008,0018)=1.2.3A4'] },
    { situation: 'a Study Instance UID with a letter in it (1.2.3B4)', modify: ['-m', '(0020,000D)=1.2.3B4'] },
  ])('refuses an instance with $situation (0xC000) and announces nothing', async ({ modify }) => {
    const study = newUid();
    const file = await relabel(testFile('CT_small.dcm'), workDir, { study, series: newUid(), sop: newUid() });
    const edit = await runTool('dcmodify', ['-nb', ...modify, file]);
    expect(edit.code).toBe(0);
    const before = instanceEvents.length;

    const run = await runTool('storescu', ['-v', '-aec', AE_TITLE, 'localhost', String(port), file]);

    expect(storeResponses(run.output)).toEqual(['Error: CannotUnderstand']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(instanceEvents.slice(before).filter((event) => event.data.studyInstanceUid === study)).toEqual([]);
  });

  it('refuses a dataset without SOP Instance UID sent by another implementation (dcmjs-dimse) and announces nothing', async () => {
    const study = newUid();
    const dataset = new Dataset(
      {
        SOPClassUID: constants.StorageClass.SecondaryCaptureImageStorage,
        StudyInstanceUID: study,
        SeriesInstanceUID: newUid(),
        Modality: 'OT',
      },
      constants.TransferSyntax.ImplicitVRLittleEndian,
    );
    const request = new requests.CStoreRequest(dataset);
    request.setAffectedSopInstanceUid(newUid());

    const status = await new Promise<number>((resolve, reject) => {
      const client = new Client();
      client.addAdditionalPresentationContext(
        new association.PresentationContext(
          1,
          constants.StorageClass.SecondaryCaptureImageStorage,
          constants.TransferSyntax.ImplicitVRLittleEndian,
        ),
      );
      request.on('response', (response) => resolve(response.getStatus()));
      client.on('networkError', reject);
      client.addRequest(request);
      client.send('127.0.0.1', port, 'DCMJS_SCU', AE_TITLE);
    });

    expect(status).toBe(0xc000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(instanceEvents.filter((event) => event.data.studyInstanceUid === study)).toEqual([]);
  });
});
