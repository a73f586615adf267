import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import type { InstanceStoredV1Data, StudyCompletedV1Data } from '@imaging-facade/events';
import { createLogger } from '@imaging-facade/service-kit';
import { createIngestMetrics } from '../metrics';
import { InstanceOutbox } from './instance-outbox';
import { LineSettlement } from './line-settlement';
import { PendingMarkers } from './pending-markers';
import { StudyCompletion } from './study-completion';
import { StudyIndex } from './study-index';
import { eventually, ManualClock } from '../test-support/manual-clock';
import { indexRecord, placeFileOf } from '../test-support/records';
import { closedAfterEach } from '../test-support/closed-after-each';

const QUIET_MS = 5000;
const STUDY = '1.2.3';

/** Every index a test made: closed after it (each keeps its files open for appending). */
const closeLater = closedAfterEach((index: StudyIndex) => index.close());

/** A node's study side on a real directory; `unreachable` makes every publish fail, as a broker that does not answer. */
async function node(root?: string, lingerMs = 20, publishMs = 0) {
  const dir = root ?? (await mkdtemp(path.join(tmpdir(), 'instance-outbox-')));
  await mkdir(path.join(dir, STUDY), { recursive: true });
  const clock = new ManualClock();
  const unreachable = { value: false };
  const instanceEvents: InstanceStoredV1Data[] = [];
  /** Events per publish request. */
  const batches: number[] = [];
  /** When each publish request started and ended (performance.now()). */
  const requests: Array<{ start: number; end: number }> = [];
  const snapshots: StudyCompletedV1Data[] = [];
  const refuseWhenUnreachable = (): void => {
    if (unreachable.value) {
      throw new Error('connect ECONNREFUSED 127.0.0.1:9');
    }
  };
  const events = {
    instancesStored: async (_studyUid: string, data: readonly InstanceStoredV1Data[]) => {
      const start = performance.now();
      refuseWhenUnreachable();
      await new Promise((resolve) => setTimeout(resolve, publishMs));
      instanceEvents.push(...data);
      batches.push(data.length);
      requests.push({ start, end: performance.now() });
    },
    studyCompleted: async (data: StudyCompletedV1Data) => {
      refuseWhenUnreachable();
      snapshots.push(data);
    },
  };
  const index = closeLater(new StudyIndex(dir));
  const logger = createLogger('dicom-ingest-test', 'silent');
  const retry = { initialMs: 20, maxMs: 50 };
  // Wired as the service wires them: lines are written while their files are.
  const settlement = new LineSettlement();
  const lineState = settlement.stateOf.bind(settlement);
  const outbox = new InstanceOutbox({ index, events, retry, logger, lingerMs, lineState });
  const markers = new PendingMarkers(dir);
  await markers.prepare();
  const completion = new StudyCompletion({
    index,
    markers,
    outbox,
    settlement,
    events,
    quietPeriodMs: QUIET_MS,
    retry,
    logger,
    metrics: createIngestMetrics(new Registry()),
    timers: clock,
  });
  return { dir, clock, unreachable, instanceEvents, batches, requests, snapshots, index, outbox, markers, completion };
}

const record = (n: number) => indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: `1.2.3.1.${n}`, callingAeTitle: 'CT1', calledAeTitle: 'FACADE' });
/** A record naming the spool file its instance was received into, as InstanceStore records it. */
const spooled = (n: number) => ({ ...record(n), spoolPath: `.spool/${n}.part` });
const sopsOf = (records: Array<{ sopInstanceUid: string }>) => records.map((entry) => entry.sopInstanceUid);

/** A file's write the test settles itself. Watched from the start, as InstanceStore watches it (never an unhandled rejection). */
function fileWrite(): { durable: Promise<void>; finish: () => void; fail: () => void } {
  let finish: () => void = () => undefined;
  let fail: () => void = () => undefined;
  const durable = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = () => reject(new Error('ENOSPC: no space left on device, write'));
  });
  durable.catch(() => undefined);
  return { durable, finish, fail };
}

describe('InstanceOutbox', () => {
  it('publishes the instance-stored events of recorded instances in the background, in order, with what the index holds', async () => {
    const { instanceEvents, completion } = await node();
    for (const n of [1, 2, 3]) {
      await completion.recordInstance(STUDY, record(n));
    }
    await eventually(() => expect(instanceEvents).toHaveLength(3));
    expect(instanceEvents.map((event) => event.sopInstanceUid)).toEqual(['1.2.3.1.1', '1.2.3.1.2', '1.2.3.1.3']);
    expect(instanceEvents[0]).toEqual({
      studyInstanceUid: STUDY,
      seriesInstanceUid: '1.2.3.1',
      sopInstanceUid: '1.2.3.1.1',
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      storagePath: '1.2.3/1.2.3.1/1.2.3.1.1.dcm',
      sizeBytes: 1000,
      callingAeTitle: 'CT1',
      calledAeTitle: 'FACADE',
      receivedAt: '2026-01-01T10:00:00.000Z',
    });
  });

  it('instances recorded within the linger are announced in one request', async () => {
    const { instanceEvents, batches, completion } = await node(undefined, 500);
    for (const n of [1, 2, 3, 4, 5]) {
      await completion.recordInstance(STUDY, record(n));
    }
    await eventually(() => expect(instanceEvents).toHaveLength(5));
    expect(batches).toEqual([5]);
    await completion.stop();
  });

  it('a study receiving instances while its events go out is published once per linger, not request after request', async () => {
    const lingerMs = 100;
    const { instanceEvents, requests, completion } = await node(undefined, lingerMs, 30);
    for (let n = 1; n <= 60; n++) {
      await completion.recordInstance(STUDY, record(n));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await eventually(() => expect(instanceEvents).toHaveLength(60), 5000);
    expect(instanceEvents.map((event) => event.sopInstanceUid)).toEqual(Array.from({ length: 60 }, (_, i) => `1.2.3.1.${i + 1}`));
    // Every request after the first waited a linger after the one before (timers never fire early; 2 ms of clock rounding).
    const gaps = requests.slice(1).map((request, i) => request.start - (requests[i]?.end ?? 0));
    expect(gaps.length).toBeGreaterThan(0);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(lingerMs - 2);
    await completion.stop();
  });

  it('while the broker is unreachable, recording still succeeds; once it is back, every event and then the snapshot are published', async () => {
    const { clock, unreachable, instanceEvents, snapshots, markers, completion } = await node();
    unreachable.value = true;
    for (const n of [1, 2, 3, 4]) {
      await completion.recordInstance(STUDY, record(n));
    }
    clock.advance(QUIET_MS);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(instanceEvents).toEqual([]);
    expect(snapshots).toEqual([]);
    expect(await markers.list()).toEqual([STUDY]);

    unreachable.value = false;
    clock.advance(60_000);
    await eventually(() => expect(snapshots).toHaveLength(1));
    expect(instanceEvents.map((event) => event.sopInstanceUid)).toEqual(['1.2.3.1.1', '1.2.3.1.2', '1.2.3.1.3', '1.2.3.1.4']);
    await eventually(async () => expect(await markers.list()).toEqual([]));
    await completion.stop();
  });

  it('after a crash before the events went out, the next start publishes them (at least once) and the snapshot', async () => {
    const first = await node();
    first.unreachable.value = true;
    await first.completion.recordInstance(STUDY, await placeFileOf(first.dir, record(1)));
    await first.completion.recordInstance(STUDY, await placeFileOf(first.dir, record(2)));
    // The process dies here: nothing was published, the index and the marker are on disk.

    const restarted = await node(first.dir);
    expect(await restarted.completion.recover()).toBe(1);
    restarted.clock.advance(QUIET_MS);
    await eventually(() => expect(restarted.snapshots).toHaveLength(1));
    expect(restarted.instanceEvents.map((event) => event.sopInstanceUid)).toEqual(['1.2.3.1.1', '1.2.3.1.2']);
    await restarted.completion.stop();
    await first.outbox.stop();
  });

  it('a study published, then sent again: only the new instances are announced again, and the index keeps one line per instance', async () => {
    const { clock, instanceEvents, snapshots, index, completion } = await node();
    await completion.recordInstance(STUDY, record(1));
    await completion.recordInstance(STUDY, record(1));
    await completion.recordInstance(STUDY, record(2));
    clock.advance(QUIET_MS);
    await eventually(() => expect(snapshots).toHaveLength(1));
    await eventually(async () => expect((await readFile(index.indexPath(STUDY), 'utf8')).trim().split('\n')).toHaveLength(2));
    expect(instanceEvents).toHaveLength(3);

    await completion.recordInstance(STUDY, record(2));
    await eventually(() => expect(instanceEvents).toHaveLength(4));
    clock.advance(QUIET_MS);
    await eventually(() => expect(snapshots).toHaveLength(2));
    expect(instanceEvents.map((event) => event.sopInstanceUid)).toEqual(['1.2.3.1.1', '1.2.3.1.1', '1.2.3.1.2', '1.2.3.1.2']);
    await eventually(async () => expect((await readFile(index.indexPath(STUDY), 'utf8')).trim().split('\n')).toHaveLength(2));
    const { records } = await index.read(STUDY);
    expect(records.map((entry) => entry.sopInstanceUid)).toEqual(['1.2.3.1.1', '1.2.3.1.2']);
    await completion.stop();
  });

  describe('lines written while their file is', () => {
    it('publishes nothing from a line whose file is still being written, nor from the lines after it, until it is durable; then all of them, in order', async () => {
      const { instanceEvents, index, completion } = await node();
      await completion.recordInstance(STUDY, spooled(1));
      await eventually(() => expect(instanceEvents).toHaveLength(1));
      const reads = jest.spyOn(index, 'readFrom');
      const file = fileWrite();
      const recorded = completion.recordInstance(STUDY, spooled(2), file.durable);
      // Recorded and durable: kicks the outbox, which reads the line in flight before it.
      await completion.recordInstance(STUDY, spooled(3));

      await eventually(() => expect(reads).toHaveBeenCalled());
      await new Promise((resolve) => setTimeout(resolve, 100)); // several lingers
      expect(sopsOf(instanceEvents)).toEqual(sopsOf([spooled(1)]));
      file.finish();
      await recorded;

      await eventually(() => expect(instanceEvents).toHaveLength(3));
      expect(sopsOf(instanceEvents)).toEqual(sopsOf([spooled(1), spooled(2), spooled(3)]));
      // Where the file was spooled is the ingest's business only.
      expect(instanceEvents[1]).not.toHaveProperty('spoolPath');
      await completion.stop();
    });

    it('never publishes a line whose file could not be written, whether it failed before or while the outbox waited for it; the lines after it go out, and the snapshot follows', async () => {
      const { clock, instanceEvents, snapshots, completion } = await node();
      const failedEarly = fileWrite();
      failedEarly.fail();
      await completion.recordInstance(STUDY, spooled(1));
      await expect(completion.recordInstance(STUDY, spooled(2), failedEarly.durable)).rejects.toThrow(/ENOSPC/);
      const failingLate = fileWrite();
      const recorded = completion.recordInstance(STUDY, spooled(3), failingLate.durable);
      await completion.recordInstance(STUDY, spooled(4));
      await new Promise((resolve) => setTimeout(resolve, 100)); // several lingers: the outbox stops before the line in flight
      failingLate.fail();
      await expect(recorded).rejects.toThrow(/ENOSPC/);

      await eventually(() => expect(instanceEvents).toHaveLength(2));
      clock.advance(QUIET_MS);
      await eventually(() => expect(snapshots).toHaveLength(1));
      expect(sopsOf(instanceEvents)).toEqual(sopsOf([spooled(1), spooled(4)]));
      expect(sopsOf(snapshots[0]?.series.flatMap((series) => series.instances) ?? [])).toEqual(sopsOf([spooled(1), spooled(4)]));
      await completion.stop();
    });
  });
});
