import { closeSync } from 'node:fs';
import { access, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { Registry } from 'prom-client';
import { createLogger } from '@imaging-facade/service-kit';
import { InstanceFiles } from './instance-files';
import { InstanceStore, type ReceivedInstance } from './instance-store';
import { createIngestMetrics } from '../metrics';
import { writeFileMetaHeader } from '@imaging-facade/dicom';
import type { IndexRecord } from '../studies/study-index';
import { part10Layout, sample as testFile } from '../../../../test/support/sample-files';
import { closedAfterEach } from '../test-support/closed-after-each';

const CT_SMALL = testFile('CT_small.dcm');
const CT = part10Layout(CT_SMALL);
const STUDY = '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322';
const SERIES = '1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322';

interface Harness {
  files: InstanceFiles;
  store: InstanceStore;
  recorded: Array<{ studyUid: string; record: IndexRecord }>;
  indexDown: { value: boolean };
  registry: Registry;
}

/** Every harness's files: their spool files (kept open) are closed after each test. */
const closeLater = closedAfterEach((files: InstanceFiles) => files.closeSpool());

async function harness(): Promise<Harness> {
  const files = closeLater(new InstanceFiles(await mkdtemp(path.join(tmpdir(), 'instance-store-'))));
  await files.prepare();
  await files.startSpool();
  const recorded: Harness['recorded'] = [];
  const indexDown = { value: false };
  const registry = new Registry();
  const store = new InstanceStore({
    files,
    completion: {
      // As StudyCompletion: the line is asked for at once, and resolves once it and the file are durable.
      recordInstance: async (studyUid, record, fileDurable) => {
        if (indexDown.value) {
          throw new Error('EIO: i/o error, write');
        }
        recorded.push({ studyUid, record });
        await fileDurable;
      },
    },
    logger: createLogger('dicom-ingest-test', 'silent'),
    metrics: createIngestMetrics(registry),
  });
  return { files, store, recorded, indexDown, registry };
}

/** An incoming file as the SCP would have written it: our meta header, then the dataset as received. */
async function receive(files: InstanceFiles, dataset: Buffer, command = { sopClassUid: CT.sopClassUid, sopInstanceUid: CT.sopInstanceUid }): Promise<ReceivedInstance> {
  const meta = writeFileMetaHeader({ ...command, transferSyntaxUid: CT.transferSyntaxUid, sourceAeTitle: 'MODALITY' });
  const claimed = files.claimSpoolFile();
  closeSync(await claimed.opened);
  const incomingPath = claimed.path;
  const file = Buffer.concat([meta, dataset]);
  await writeFile(incomingPath, file);
  return {
    incomingPath,
    durable: Promise.resolve(),
    datasetOffset: meta.length,
    sizeBytes: file.length,
    crc32: crc32(file),
    datasetHead: dataset.subarray(0, 1024),
    ...command,
    transferSyntaxUid: CT.transferSyntaxUid,
    callingAeTitle: 'MODALITY',
    calledAeTitle: 'FACADE',
  };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

const ctDataset = async (): Promise<Buffer> => (await readFile(CT_SMALL)).subarray(CT.datasetOffset);

describe('InstanceStore', () => {
  it('moves the instance to <study>/<series>/<sop>.dcm unchanged, indexes it with what its event says, and answers success', async () => {
    const { files, store, recorded } = await harness();
    const dataset = await ctDataset();
    const received = await receive(files, dataset);

    const result = await store.store(received);
    await files.syncPlaced();

    expect(result).toEqual({ status: 0x0000 });
    const relative = `${STUDY}/${SERIES}/${CT.sopInstanceUid}.dcm`;
    const stored = await readFile(path.join(files.root, relative));
    expect(stored.subarray(received.datasetOffset).equals(dataset)).toBe(true);
    expect(await exists(received.incomingPath)).toBe(false);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.studyUid).toBe(STUDY);
    expect(recorded[0]?.record.study['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'CompressedSamples^CT1' }] });
    // The index is the outbox of the instance-stored event: the record carries all it says.
    expect([recorded[0]?.record]).toEqual([
      expect.objectContaining({
        seriesInstanceUid: SERIES,
        sopInstanceUid: CT.sopInstanceUid,
        sopClassUid: CT.sopClassUid,
        transferSyntaxUid: CT.transferSyntaxUid,
        storagePath: relative,
        // Where its bytes were made durable: a restart finishes the rename from there if a crash undid it.
        spoolPath: `.spool/${path.basename(received.incomingPath)}`,
        sizeBytes: received.sizeBytes,
        callingAeTitle: 'MODALITY',
        calledAeTitle: 'FACADE',
        receivedAt: expect.any(String),
      }),
    ]);
  });

  it('when the same instance is sent again, it replaces the file and is recorded again', async () => {
    const { files, store, recorded } = await harness();

    const first = await receive(files, await ctDataset());
    const second = await receive(files, await ctDataset());
    await store.store(first);
    const again = await store.store(second);
    await files.syncPlaced();

    expect(again.status).toBe(0x0000);
    expect(recorded).toHaveLength(2);
    expect([await exists(first.incomingPath), await exists(second.incomingPath)]).toEqual([false, false]);
  });

  it('records the line while the file is still in the spool: the move to its place waits for the line, and is not awaited by the answer', async () => {
    const { files, recorded } = await harness();
    const seenInSpool: boolean[] = [];
    let releaseLine: () => void = () => undefined;
    const store = new InstanceStore({
      files,
      completion: {
        recordInstance: async (studyUid, record) => {
          seenInSpool.push(await exists(path.join(files.root, record.spoolPath ?? '')));
          await new Promise<void>((resolve) => {
            releaseLine = resolve;
          });
          recorded.push({ studyUid, record });
        },
      },
      logger: createLogger('dicom-ingest-test', 'silent'),
      metrics: createIngestMetrics(new Registry()),
    });
    const received = await receive(files, await ctDataset());

    const answered = store.store(received);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const placed = path.join(files.root, `${STUDY}/${SERIES}/${CT.sopInstanceUid}.dcm`);
    const beforeLine = { spool: await exists(received.incomingPath), place: await exists(placed) };
    releaseLine();
    expect(await answered).toEqual({ status: 0x0000 });
    await files.syncPlaced();

    expect(seenInSpool).toEqual([true]);
    expect(beforeLine).toEqual({ spool: true, place: false });
    expect({ spool: await exists(received.incomingPath), place: await exists(placed) }).toEqual({ spool: false, place: true });
  });

  it.each([
    { situation: 'bytes that are not a dataset', dataset: async () => Buffer.from('garbage!'.repeat(64)) },
    { situation: 'a dataset cut in its header', dataset: async () => (await ctDataset()).subarray(0, 700) },
  ])('refuses $situation as not understood (0xC000), removes the incoming file and records nothing', async ({ dataset }) => {
    const { files, store, recorded, registry } = await harness();
    const received = await receive(files, await dataset());

    const result = await store.store(received);

    expect(result.status).toBe(0xc000);
    expect(await exists(received.incomingPath)).toBe(false);
    expect(recorded).toEqual([]);
    expect(await registry.getSingleMetricAsString('facade_ingest_store_failures_total')).toContain('status="0xC000"} 1');
  });

  it('refuses a dataset that is another instance than the command announced', async () => {
    const { files, store, recorded } = await harness();
    const received = await receive(files, await ctDataset(), { sopClassUid: CT.sopClassUid, sopInstanceUid: '1.2.3.4.5' });

    const result = await store.store(received);

    expect(result).toEqual({ status: 0xc000, reason: 'SOP Instance UID differs from the command' });
    expect(await exists(received.incomingPath)).toBe(false);
    expect(recorded).toEqual([]);
  });

  it('when the incoming file could not be written, answers out of resources and removes it', async () => {
    const { files, store, recorded } = await harness();
    const received = await receive(files, await ctDataset());
    const failed = Promise.reject(new Error('ENOSPC: no space left on device'));

    const result = await store.store({ ...received, durable: failed });

    expect(result).toEqual({ status: 0xa700, reason: 'dataset could not be written' });
    expect(await exists(received.incomingPath)).toBe(false);
    expect(recorded).toEqual([]);
  });

  it('when the study index cannot be written, answers out of resources, never success', async () => {
    const { files, store, indexDown } = await harness();
    indexDown.value = true;

    const received = await receive(files, await ctDataset());
    const result = await store.store(received);
    await files.syncPlaced();

    expect(result).toEqual({ status: 0xa700, reason: 'instance could not be stored' });
    // Its line may have reached the disk before the failure: the complete file goes to its place, not away.
    const placed = await readFile(path.join(files.root, `${STUDY}/${SERIES}/${CT.sopInstanceUid}.dcm`));
    expect(placed.length).toBe(received.sizeBytes);
  });
  describe('the line written while the file is', () => {
    /** A promise the test settles: the file's write, still under way. */
    function fileWrite(): { durable: Promise<void>; done: () => void; fail: (error: Error) => void } {
      let done: () => void = () => undefined;
      let fail: (error: Error) => void = () => undefined;
      const durable = new Promise<void>((resolve, reject) => {
        done = resolve;
        fail = reject;
      });
      return { durable, done, fail };
    }

    const settled = <T>(promise: Promise<T>): Promise<boolean> =>
      Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 50))]);

    it('asks for the line before the file is durable, and answers success only once the file is', async () => {
      const { files, store, recorded } = await harness();
      const write = fileWrite();
      const dataset = await ctDataset();
      // The SCP keeps the first 64 KB in memory: the header is read from them while the file is written.
      const received = { ...(await receive(files, dataset)), datasetHead: dataset, durable: write.durable };

      const answered = store.store(received);

      expect(await settled(answered)).toBe(false);
      expect(recorded).toHaveLength(1);
      write.done();
      expect(await answered).toEqual({ status: 0x0000 });
    });

    it('the line carries the size and the CRC-32 of the whole Part 10 file, by which a restart tells whether the file became durable', async () => {
      const { files, store, recorded } = await harness();
      const received = await receive(files, await ctDataset());
      const bytes = await readFile(received.incomingPath);

      await store.store(received);

      expect(recorded[0]?.record).toEqual(expect.objectContaining({ sizeBytes: bytes.length, crc32: crc32(bytes) }));
    });

    it('when the file fails after its line was asked for, answers out of resources, removes the file and never puts it in place', async () => {
      const { files, store, recorded, registry } = await harness();
      const write = fileWrite();
      const dataset = await ctDataset();
      // The SCP keeps the first 64 KB in memory: the header is read from them while the file is written.
      const received = { ...(await receive(files, dataset)), datasetHead: dataset, durable: write.durable };

      const answered = store.store(received);
      await settled(answered);
      expect(recorded).toHaveLength(1);
      write.fail(new Error('EIO: i/o error, write'));
      const result = await answered;
      await files.syncPlaced();

      expect(result).toEqual({ status: 0xa700, reason: 'dataset could not be written' });
      expect(await exists(received.incomingPath)).toBe(false);
      expect(await exists(path.join(files.root, `${STUDY}/${SERIES}/${CT.sopInstanceUid}.dcm`))).toBe(false);
      expect(await registry.getSingleMetricAsString('facade_ingest_store_failures_total')).toContain('status="0xA700"} 1');
    });

    it('a re-send whose file fails leaves the earlier copy in place', async () => {
      const { files, store } = await harness();
      const first = await receive(files, await ctDataset());
      expect(await store.store(first)).toEqual({ status: 0x0000 });
      await files.syncPlaced();
      const placed = path.join(files.root, `${STUDY}/${SERIES}/${CT.sopInstanceUid}.dcm`);
      const before = await readFile(placed);

      const dataset = await ctDataset();
      // Its header read from memory: its line is asked for before the write fails.
      const resent = { ...(await receive(files, dataset)), datasetHead: dataset, durable: Promise.reject(new Error('ENOSPC: no space left on device')) };
      expect((await store.store(resent)).status).toBe(0xa700);
      await files.syncPlaced();

      expect((await readFile(placed)).equals(before)).toBe(true);
      expect(await exists(resent.incomingPath)).toBe(false);
    });
  });
});
