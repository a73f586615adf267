import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import type { StudyCompletedV1Data } from '@imaging-facade/events';
import { createLogger } from '@imaging-facade/service-kit';
import { createIngestMetrics } from './metrics';
import { PendingMarkers } from './pending-markers';
import { StudyCompletion } from './study-completion';
import { StudyIndex } from './study-index';
import { eventually, ManualClock } from './test-support/manual-clock';
import { indexRecord } from './test-support/records';

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
  completion: StudyCompletion;
}

async function setup(root?: string): Promise<Setup> {
  const dir = root ?? (await mkdtemp(path.join(tmpdir(), 'study-completion-')));
  await mkdir(path.join(dir, STUDY), { recursive: true });
  const clock = new ManualClock();
  const published: StudyCompletedV1Data[] = [];
  const failNext = { count: 0 };
  const hooks = { beforePublish: async () => undefined };
  const markers = new PendingMarkers(dir);
  await markers.prepare();
  const completion = new StudyCompletion({
    index: new StudyIndex(dir),
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
  });
  return { root: dir, clock, published, failNext, hooks, markers, completion };
}

function instances(data: StudyCompletedV1Data | undefined): number {
  return (data?.series ?? []).reduce((sum, series) => sum + series.instances.length, 0);
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

  it('after a restart, a study left pending on disk is scheduled again and published from its index', async () => {
    const first = await setup();
    await first.completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
    await first.completion.recordInstance(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2' }));
    await first.completion.stop(); // the quiet period had not ended: the study stays pending
    expect(first.published).toHaveLength(0);

    const second = await setup(first.root);
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
});
