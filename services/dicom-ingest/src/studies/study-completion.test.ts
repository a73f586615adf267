import { mkdir, mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import type { StudyCompletedV1Data, StudyManifest } from '@imaging-facade/events';
import { createLogger } from '@imaging-facade/service-kit';
import { createIngestMetrics } from '../metrics';
import { PendingMarkers } from './pending-markers';
import { ManifestBuildError } from './kos-writer';
import { LineSettlement } from './line-settlement';
import { StudyCompletion, type StudyCompletionOptions } from './study-completion';
import { StudyIndex, type IndexRecord } from './study-index';
import { eventually, ManualClock } from '../test-support/manual-clock';
import { indexRecord, placeFileOf } from '../test-support/records';
import { closedAfterEach } from '../test-support/closed-after-each';

const QUIET_MS = 5000;
const STUDY = '1.2.3';

interface Setup {
  root: string;
  clock: ManualClock;
  published: StudyCompletedV1Data[];
  failNext: { count: number };
  /** Runs before each publish: lets a test hold a publish under way. */
  hooks: { beforePublish: () => Promise<void> };
  markers: PendingMarkers;
  index: StudyIndex;
  completion: StudyCompletion;
}

/** Every index a test made: closed after it (each keeps its files open for appending). */
const closeLater = closedAfterEach((index: StudyIndex) => index.close());

async function setup({
  root,
  manifests,
  placement,
  settlement,
}: { root?: string } & Pick<StudyCompletionOptions, 'manifests' | 'placement' | 'settlement'> = {}): Promise<Setup> {
  const dir = root ?? (await mkdtemp(path.join(tmpdir(), 'study-completion-')));
  await mkdir(path.join(dir, STUDY), { recursive: true });
  const clock = new ManualClock();
  const published: StudyCompletedV1Data[] = [];
  const failNext = { count: 0 };
  const hooks = { beforePublish: async () => undefined };
  const markers = new PendingMarkers(dir);
  await markers.prepare();
  const index = closeLater(new StudyIndex(dir));
  const completion = new StudyCompletion({
    index,
    markers,
    events: {
      studyCompleted: async (data) => {
        await hooks.beforePublish();
        if (failNext.count > 0) {
          failNext.count--;
          throw new Error('broker unavailable');
        }
        published.push(data);
      },
    },
    quietPeriodMs: QUIET_MS,
    retry: { initialMs: 1000, maxMs: 8000 },
    logger: createLogger('dicom-ingest-test', 'silent'),
    metrics: createIngestMetrics(new Registry()),
    timers: clock,
    manifests,
    placement,
    settlement,
  });
  return { root: dir, clock, published, failNext, hooks, markers, index, completion };
}

function instances(data: StudyCompletedV1Data | undefined): number {
  return (data?.series ?? []).reduce((sum, series) => sum + series.instances.length, 0);
}

/** The instances of a snapshot, as a receiver reads them: which instance, and which copy (by size). */
function copiesIn(data: StudyCompletedV1Data | undefined): Array<{ sopInstanceUid: string; sizeBytes: number | undefined }> {
  return (data?.series ?? []).flatMap((series) => series.instances.map(({ sopInstanceUid, sizeBytes }) => ({ sopInstanceUid, sizeBytes })));
}

/** The same, for the records a snapshot should hold (one per instance, in order). */
function copiesOf(...records: IndexRecord[]): Array<{ sopInstanceUid: string; sizeBytes: number | undefined }> {
  return records.map(({ sopInstanceUid, sizeBytes }) => ({ sopInstanceUid, sizeBytes }));
}

/** A record of an instance received into its own spool file, as InstanceStore records it. */
function spooled(n: number): IndexRecord {
  return indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: `1.2.3.1.${n}`, spoolPath: `.spool/${n}.part` });
}

/** A file's write that failed. Watched from the start, as InstanceStore watches it (never an unhandled rejection). */
function failedWrite(): Promise<void> {
  const failed = Promise.reject(new Error('ENOSPC: no space left on device, write'));
  failed.catch(() => undefined);
  return failed;
}

/** A file's write the test finishes itself. */
function fileWrite(): { durable: Promise<void>; finish: () => void } {
  let finish: () => void = () => undefined;
  const durable = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return { durable, finish };
}

describe('StudyCompletion', () => {
  it('publishes one snapshot of the study once it was quiet for the quiet period, then clears the marker', async () => {
    const { clock, published, markers, completion } = await setup();
    await completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
    await completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.2', sopInstanceUid: '1.2.3.2.1' }));
    expect(await markers.list()).toEqual([STUDY]);

    clock.advance(QUIET_MS - 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(published).toHaveLength(0);
    clock.advance(1);

    await eventually(async () => expect(await markers.list()).toEqual([]));
    expect(published).toHaveLength(1);
    expect(published[0]?.series.map((series) => series.seriesInstanceUid)).toEqual(['1.2.3.1', '1.2.3.2']);
  });

  it('leaves an index of one line per instance as it is once published, without reading it again, and compacts one a re-send added a line to', async () => {
    const { root, clock, markers, index, completion } = await setup();
    const compact = jest.spyOn(index, 'compact');
    const indexFile = path.join(root, STUDY, 'study-index.ndjson');
    const first = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' });
    const second = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2' });
    await completion.recordInstance(STUDY, first);
    await completion.recordInstance(STUDY, second);
    const before = await stat(indexFile);
    clock.advance(QUIET_MS);
    await eventually(async () => expect(await markers.list()).toEqual([]));
    // The same file (a compaction renames a new one over it), with the same lines.
    expect((await stat(indexFile)).ino).toBe(before.ino);
    expect(await index.read(STUDY)).toEqual({ records: [first, second], unreadableLines: 0 });
    expect(compact).not.toHaveBeenCalled();

    const again = { ...second, sizeBytes: (second.sizeBytes ?? 0) + 1 };
    await completion.recordInstance(STUDY, again);
    clock.advance(QUIET_MS);
    await eventually(async () => expect(await markers.list()).toEqual([]));
    expect(await index.read(STUDY)).toEqual({ records: [first, again], unreadableLines: 0 });
    expect(compact).toHaveBeenCalledTimes(1);
  });

  it('when an instance of a published study is sent again with another series, the next snapshot lists it once, under that series, and its old file is removed once that snapshot is out', async () => {
    const { root, clock, published, markers, index, completion, hooks } = await setup();
    const moved = await placeFileOf(root, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.9.1' }));
    const kept = await placeFileOf(root, indexRecord({ seriesInstanceUid: '1.2.3.2', sopInstanceUid: '1.2.3.9.2' }));
    await completion.recordInstance(STUDY, moved);
    await completion.recordInstance(STUDY, kept);
    clock.advance(QUIET_MS);
    await eventually(async () => expect(await markers.list()).toEqual([]));
    const oldFile = path.join(root, moved.storagePath);
    const oldFileAtPublish: boolean[] = [];
    hooks.beforePublish = async () => {
      oldFileAtPublish.push(await stat(oldFile).then(() => true, () => false));
    };

    const movedAgain = await placeFileOf(root, indexRecord({ seriesInstanceUid: '1.2.3.2', sopInstanceUid: '1.2.3.9.1', sizeBytes: 1200 }));
    await completion.recordInstance(STUDY, movedAgain);
    clock.advance(QUIET_MS);

    await eventually(async () => expect(await markers.list()).toEqual([]));
    expect(published.map((data) => data.series.map((series) => [series.seriesInstanceUid, series.instances.map((instance) => instance.sopInstanceUid)]))).toEqual([
      [['1.2.3.1', ['1.2.3.9.1']], ['1.2.3.2', ['1.2.3.9.2']]],
      [['1.2.3.2', ['1.2.3.9.1', '1.2.3.9.2']]],
    ]);
    // Served from its old place until the corrected study is out, then removed with its empty series.
    expect(oldFileAtPublish).toEqual([true]);
    await expect(stat(path.dirname(oldFile))).rejects.toThrow(/ENOENT/);
    expect(await index.read(STUDY)).toEqual({ records: [kept, movedAgain], unreadableLines: 0 });
  });

  it('when a late series arrives after the snapshot, publishes a new full snapshot, not a delta', async () => {
    const { clock, published, markers, completion } = await setup();
    await completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
    clock.advance(QUIET_MS);
    await eventually(async () => expect(await markers.list()).toEqual([]));

    await completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.9', sopInstanceUid: '1.2.3.9.1' }));
    expect(await markers.list()).toEqual([STUDY]);
    clock.advance(QUIET_MS);

    await eventually(() => expect(published).toHaveLength(2));
    expect(published[1]?.series.map((series) => series.seriesInstanceUid)).toEqual(['1.2.3.1', '1.2.3.9']);
    expect(instances(published[1])).toBe(2);
  });

  it('when publishing fails, keeps the marker and retries with backoff until it succeeds', async () => {
    const { clock, published, markers, completion, failNext } = await setup();
    failNext.count = 2;
    await completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));

    clock.advance(QUIET_MS);
    await eventually(() => expect(failNext.count).toBe(1));
    expect(await markers.list()).toEqual([STUDY]);
    await eventually(() => expect(clock.waiting).toBe(1));
    clock.advance(1000); // first retry: within [500, 1000] ms
    await eventually(() => expect(failNext.count).toBe(0));
    await eventually(() => expect(clock.waiting).toBe(1));
    clock.advance(2000); // second retry: within [1000, 2000] ms

    await eventually(() => expect(published).toHaveLength(1));
    await eventually(async () => expect(await markers.list()).toEqual([]));
  });

  it('makes the directory entries of the renamed instance files durable before the snapshot; when that fails, publishes nothing and keeps the marker', async () => {
    const steps: string[] = [];
    const failSync = { count: 1 };
    const placement = {
      syncPlaced: async () => {
        steps.push('sync the renames');
        if (failSync.count > 0) {
          failSync.count--;
          throw new Error('EIO: i/o error, fsync');
        }
      },
    };
    const { clock, published, markers, completion, hooks } = await setup({ placement });
    hooks.beforePublish = async () => {
      steps.push('publish');
    };
    await completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));

    clock.advance(QUIET_MS);
    await eventually(() => expect(failSync.count).toBe(0));
    expect(published).toHaveLength(0);
    expect(await markers.list()).toEqual([STUDY]);
    await eventually(() => expect(clock.waiting).toBe(1));
    clock.advance(1000);

    await eventually(async () => expect(await markers.list()).toEqual([]));
    expect(published).toHaveLength(1);
    expect(steps).toEqual(['sync the renames', 'sync the renames', 'publish']);
  });

  it('after a restart, a study left pending on disk is scheduled again and published from its index', async () => {
    const first = await setup();
    for (const sopInstanceUid of ['1.2.3.1.1', '1.2.3.1.2']) {
      const record = await placeFileOf(first.root, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid }));
      await first.completion.recordInstance(STUDY, record);
    }
    await first.completion.stop(); // the quiet period had not ended: the study stays pending
    expect(first.published).toHaveLength(0);

    const second = await setup({ root: first.root });
    expect(await second.completion.recover()).toBe(1);
    second.clock.advance(QUIET_MS);

    await eventually(() => expect(second.published).toHaveLength(1));
    expect(instances(second.published[0])).toBe(2);
    await eventually(async () => expect(await second.markers.list()).toEqual([]));
  });

  it('an instance arriving while the snapshot is being published keeps the study pending for the next snapshot', async () => {
    const { clock, published, markers, completion, hooks } = await setup();
    let releasePublish: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      releasePublish = resolve;
    });
    hooks.beforePublish = () => gate;
    await completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
    clock.advance(QUIET_MS);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the snapshot is read and its publish is waiting

    await completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2' }));
    releasePublish();
    await eventually(() => expect(published).toHaveLength(1));
    expect(await markers.list()).toEqual([STUDY]);
    clock.advance(QUIET_MS);

    await eventually(() => expect(published).toHaveLength(2));
    expect(instances(published[1])).toBe(2);
    await eventually(async () => expect(await markers.list()).toEqual([]));
  });

  it('stop leaves pending studies on disk and waits for a publish under way', async () => {
    const { root, clock, published, completion } = await setup();
    await completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
    await completion.stop();
    clock.advance(QUIET_MS);

    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(published).toHaveLength(0);
    expect(await readdir(path.join(root, '.pending'))).toEqual([STUDY]);
  });

  describe('with lines written while their file is (LineSettlement)', () => {
    it('a snapshot due while a line\'s file is still being written waits for it, then includes that instance', async () => {
      const settlement = new LineSettlement();
      const { clock, published, markers, index, completion } = await setup({ settlement });
      await completion.recordInstance(STUDY, spooled(1));
      const file = fileWrite();
      const recorded = completion.recordInstance(STUDY, spooled(2), file.durable);
      // Its line is in the index before its file is durable.
      await eventually(async () => expect((await index.read(STUDY)).records).toHaveLength(2));

      clock.advance(QUIET_MS); // the first instance's quiet period ends
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(published).toHaveLength(0);
      file.finish();
      await recorded;

      await eventually(() => expect(published).toHaveLength(1));
      expect(copiesIn(published[0])).toEqual(copiesOf(spooled(1), spooled(2)));
      await eventually(async () => expect(await markers.list()).toEqual([]));
    });

    it('an instance whose file could not be written is refused, left out of the snapshot (a re-send keeps its earlier copy) and compacted out of the index', async () => {
      const settlement = new LineSettlement();
      const { clock, published, markers, index, completion } = await setup({ settlement });
      const kept = spooled(1);
      const failedResend = { ...spooled(1), spoolPath: '.spool/1-again.part', sizeBytes: kept.sizeBytes + 10 };
      await completion.recordInstance(STUDY, kept);
      await expect(completion.recordInstance(STUDY, failedResend, failedWrite())).rejects.toThrow(/ENOSPC/);
      await expect(completion.recordInstance(STUDY, spooled(2), failedWrite())).rejects.toThrow(/ENOSPC/);

      clock.advance(QUIET_MS);

      await eventually(async () => expect(await markers.list()).toEqual([]));
      expect(published).toHaveLength(1);
      expect(copiesIn(published[0])).toEqual(copiesOf(kept));
      expect(await index.read(STUDY)).toEqual({ records: [kept], unreadableLines: 0 });
      // Out of the index: nothing needs to remember them any more.
      expect(settlement.voidOf(STUDY).size).toBe(0);
    });

    it('when the compaction fails while the study has void lines, the marker stays and the study is published and compacted again', async () => {
      const settlement = new LineSettlement();
      const { clock, published, markers, index, completion } = await setup({ settlement });
      await completion.recordInstance(STUDY, spooled(1));
      await expect(completion.recordInstance(STUDY, spooled(2), failedWrite())).rejects.toThrow(/ENOSPC/);
      const compact = jest.spyOn(index, 'compact').mockRejectedValueOnce(new Error('ENOSPC: no space left on device, write'));

      clock.advance(QUIET_MS);
      await eventually(() => expect(compact).toHaveBeenCalledTimes(1));
      await eventually(() => expect(clock.waiting).toBe(1));
      // A restart checks only a pending study's lines against their files: the void line must not outlive the marker.
      expect(await markers.list()).toEqual([STUDY]);
      clock.advance(1000); // first retry: within [500, 1000] ms

      await eventually(async () => expect(await markers.list()).toEqual([]));
      expect(await index.read(STUDY)).toEqual({ records: [spooled(1)], unreadableLines: 0 });
      // Published with the first attempt and again with the retry (at least once), never with the void line.
      expect(published.map(copiesIn)).toEqual([copiesOf(spooled(1)), copiesOf(spooled(1))]);
    });

    it('when the compaction fails and the study has no void line, the marker is cleared all the same: the old lines only cost space', async () => {
      const settlement = new LineSettlement();
      const { clock, published, markers, index, completion } = await setup({ settlement });
      await completion.recordInstance(STUDY, spooled(1));
      await completion.recordInstance(STUDY, { ...spooled(1), spoolPath: '.spool/1-again.part' });
      const compact = jest.spyOn(index, 'compact').mockRejectedValueOnce(new Error('ENOSPC: no space left on device, write'));

      clock.advance(QUIET_MS);

      await eventually(async () => expect(await markers.list()).toEqual([]));
      expect(compact).toHaveBeenCalledTimes(1);
      expect(published).toHaveLength(1);
      expect(clock.waiting).toBe(0);
    });
  });

  describe('with manifests', () => {
    const manifestOf = (data: StudyCompletedV1Data): StudyManifest => ({
      seriesInstanceUid: '2.25.1',
      sopInstanceUid: `2.25.${instances(data)}`,
      sopClassUid: '1.2.840.10008.5.1.4.1.1.88.59',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      storagePath: `${STUDY}/2.25.1/2.25.${instances(data)}.dcm`,
      createdAt: '2026-01-01T10:00:00.000Z',
      referencedInstances: instances(data),
    });

    it('brings the manifest up to date before each snapshot and publishes it with the snapshot', async () => {
      const made: number[] = [];
      const { clock, published, completion } = await setup({
        manifests: {
          update: async (data) => {
            made.push(instances(data));
            return manifestOf(data);
          },
        },
      });
      await completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
      clock.advance(QUIET_MS);
      await eventually(() => expect(published).toHaveLength(1));
      await completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.2', sopInstanceUid: '1.2.3.2.1' }));
      clock.advance(QUIET_MS);

      await eventually(() => expect(published).toHaveLength(2));
      expect(made).toEqual([1, 2]);
      expect(published.map((data) => data.manifest?.referencedInstances)).toEqual([1, 2]);
    });

    it('when the manifest cannot be built from the study, publishes the snapshot without one', async () => {
      const { clock, published, markers, completion } = await setup({
        manifests: {
          update: async () => {
            throw new ManifestBuildError('unwritable attribute');
          },
        },
      });
      await completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
      clock.advance(QUIET_MS);

      await eventually(() => expect(published).toHaveLength(1));
      expect(published[0]).not.toHaveProperty('manifest');
      await eventually(async () => expect(await markers.list()).toEqual([]));
    });

    it('when the manifest cannot be written (disk), publishes nothing and tries again later', async () => {
      let failures = 1;
      const { clock, published, markers, completion } = await setup({
        manifests: {
          update: async (data) => {
            if (failures-- > 0) {
              throw new Error('ENOSPC: no space left on device');
            }
            return manifestOf(data);
          },
        },
      });
      await completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
      clock.advance(QUIET_MS);
      await eventually(() => expect(clock.waiting).toBe(1));
      expect(published).toHaveLength(0);
      expect(await markers.list()).toEqual([STUDY]);

      clock.advance(1000);
      await eventually(() => expect(published).toHaveLength(1));
      expect(published[0]?.manifest?.referencedInstances).toBe(1);
    });
  });
});
