import { studyCompletedV1DataSchema, type StudyManifest } from '@imaging-facade/events';
import { backoffDelay, errorMessage, KeyedLock, type Logger } from '@imaging-facade/service-kit';
import type { IngestEvents } from '../ingest-events';
import type { InstanceFiles } from '../storage/instance-files';
import type { IngestMetrics } from '../metrics';
import type { InstanceOutbox } from './instance-outbox';
import type { LineSettlement } from './line-settlement';
import type { PendingMarkers } from './pending-markers';
import { QuietPeriodTracker, type Timers } from './quiet-period';
import type { IndexContents, IndexRecord, StudyIndex } from './study-index';
import { ManifestBuildError } from './kos-writer';
import type { StudyManifests } from './study-manifests';
import { buildSnapshot } from './study-snapshot';

export interface StudyCompletionOptions {
  index: StudyIndex;
  markers: PendingMarkers;
  events: Pick<IngestEvents, 'studyCompleted'>;
  quietPeriodMs: number;
  retry: { initialMs: number; maxMs: number };
  logger: Logger;
  metrics: Pick<IngestMetrics, 'studiesCompleted' | 'studyPublishFailures'>;
  /** Makes the study's manifest before each snapshot is published; without it, none is made. */
  manifests?: Pick<StudyManifests, 'update'>;
  /**
   * Makes the directory entries of the instances' renames durable before a snapshot is published,
   * after which a restart no longer recovers the study (see InstanceFiles.place).
   */
  placement?: Pick<InstanceFiles, 'syncPlaced'>;
  /** Publishes the instance-stored events; without it, none are published. */
  outbox?: Pick<InstanceOutbox, 'startAt' | 'kick' | 'drain' | 'rewritten' | 'forget'>;
  /**
   * Tracks the lines written while their file is (recordInstance's `fileDurable`): a snapshot waits
   * for them, and leaves out and compacts away those whose file failed. Without it, a line is
   * written only after its file is durable.
   */
  settlement?: LineSettlement;
  timers?: Timers;
}

/**
 * Announces each study once it goes quiet, with a snapshot of everything held for it.
 *
 * Per study, under one lock: an instance makes the study pending (a durable marker), is appended to
 * the index and restarts the quiet period. When the period ends, the snapshot is read from the
 * index and published; the marker is removed only if no instance arrived meanwhile (the generation
 * did not move), otherwise the new quiet period publishes a newer snapshot. A failed publish keeps
 * the marker and is retried with backoff. Markers left by a previous run are scheduled again.
 *
 * Before a snapshot is published, the study's manifest (a Key Object Selection document referencing
 * every instance of the snapshot) is brought up to date and described in the snapshot. A manifest
 * that cannot be built from the study's attributes is left out (logged); one that cannot be written
 * fails the attempt, which is retried like a failed publish.
 */
export class StudyCompletion {
  private readonly lock = new KeyedLock();
  private readonly tracker: QuietPeriodTracker;
  /** Studies with a durable marker; their instances skip re-creating it. */
  private readonly pending = new Set<string>();
  /** Bumped by every recorded instance of a pending study. */
  private readonly generations = new Map<string, number>();
  private readonly attempts = new Map<string, number>();
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly options: StudyCompletionOptions) {
    this.tracker = new QuietPeriodTracker((studyUid) => this.startCompletion(studyUid), options.timers);
  }

  /**
   * Records an instance: resolves once its line and its file (`fileDurable`, written meanwhile) are
   * durable, which is when the caller may acknowledge it; rejects when either failed. The marker,
   * the generation and the place of the append in the index's queue are settled under the study's
   * lock; the writes are awaited outside it, so that the appends of concurrent associations share
   * one fsync. The generation moves first: a snapshot that may have missed this record never clears
   * the marker.
   */
  async recordInstance(studyUid: string, record: IndexRecord, fileDurable: Promise<void> = Promise.resolve()): Promise<void> {
    const { appended } = await this.lock.run(studyUid, async () => {
      if (!this.pending.has(studyUid)) {
        await this.options.markers.mark(studyUid);
        // Not pending: every line already in the index was published with the last snapshot.
        this.options.outbox?.startAt(studyUid, await this.options.index.size(studyUid));
        this.pending.add(studyUid);
      }
      this.generations.set(studyUid, (this.generations.get(studyUid) ?? 0) + 1);
      this.attempts.delete(studyUid);
      // Queued under the lock, so that a later read of the index (a snapshot) comes after it.
      const appended = this.options.index.append(studyUid, record);
      appended.catch(() => undefined); // awaited right below; this only keeps it from counting as unhandled meanwhile
      if (record.spoolPath !== undefined) {
        this.options.settlement?.track(studyUid, record.spoolPath, appended, fileDurable);
      }
      return { appended };
    });
    const [line, file] = await Promise.allSettled([appended, fileDurable]);
    // Also after a failure: the study's next snapshot and compaction leave a void line out.
    this.tracker.touch(studyUid, this.options.quietPeriodMs);
    this.options.outbox?.kick(studyUid);
    for (const written of [file, line]) {
      if (written.status === 'rejected') {
        throw written.reason;
      }
    }
  }

  /** Schedules the studies a previous run left pending (e.g. it crashed during their quiet period). */
  async recover(): Promise<number> {
    const studies = await this.options.markers.list();
    for (const studyUid of studies) {
      if (await this.options.index.repair(studyUid)) {
        this.options.logger.warn({ studyInstanceUid: studyUid }, 'cut a torn line off the study index');
      }
      const dropped = await this.options.index.dropUnplaced(studyUid);
      if (dropped > 0) {
        this.options.logger.warn({ studyInstanceUid: studyUid, records: dropped }, 'dropped index lines whose file never became durable (never answered with success) or that a later copy supersedes');
      }
      this.pending.add(studyUid);
      this.generations.set(studyUid, this.generations.get(studyUid) ?? 0);
      this.tracker.touch(studyUid, this.options.quietPeriodMs);
      // Its instance-stored events may not all have been published: all again (at least once).
      this.options.outbox?.startAt(studyUid, 0);
      this.options.outbox?.kick(studyUid);
    }
    return studies.length;
  }

  /**
   * Stops scheduling and waits for publishes under way. Studies still in their quiet period stay
   * pending on disk and are published by the next start.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.tracker.stop();
    await Promise.allSettled([...this.running.values()]);
  }

  private startCompletion(studyUid: string): void {
    const previous = this.running.get(studyUid) ?? Promise.resolve();
    const run = previous
      .then(() => (this.stopped ? undefined : this.complete(studyUid)))
      .catch((error: unknown) => this.retryLater(studyUid, error))
      .finally(() => {
        if (this.running.get(studyUid) === run) {
          this.running.delete(studyUid);
        }
      });
    this.running.set(studyUid, run);
  }

  private async complete(studyUid: string): Promise<void> {
    const logger = this.options.logger.child({ studyInstanceUid: studyUid });
    const { generation, contents, compacted } = await this.settledContents(studyUid);
    if (contents.unreadableLines > 0) {
      logger.warn({ unreadableLines: contents.unreadableLines }, 'study index has unreadable lines; they are left out');
    }

    const snapshot = buildSnapshot(studyUid, contents.records);
    if (snapshot === undefined) {
      logger.warn('pending study has no indexed instance; nothing to publish');
      await this.clearIfUnchanged(studyUid, generation, compacted);
      return;
    }
    const manifest = await this.manifestOf(snapshot, logger);
    const checked = studyCompletedV1DataSchema.safeParse(manifest ? { ...snapshot, manifest } : snapshot);
    if (!checked.success) {
      // Cannot happen with validated records; keep the marker so that nothing is lost, and say why.
      const reason = checked.error.issues[0]?.message;
      logger.error({ reason }, 'study snapshot does not match its schema; left pending');
      return;
    }

    // The marker is cleared after this snapshot: every file it names must be findable after a
    // crash, and every instance-stored event must be out first.
    await this.options.placement?.syncPlaced();
    await this.options.outbox?.drain(studyUid);
    await this.options.events.studyCompleted(checked.data);
    this.options.metrics.studiesCompleted.inc();
    const instances = snapshot.series.reduce((sum, series) => sum + series.instances.length, 0);
    logger.info({ series: snapshot.series.length, instances }, 'study completed');
    await this.clearIfUnchanged(studyUid, generation, compacted);
  }

  /**
   * The study's generation and its index without void lines, read once no line of it is in flight:
   * lines are tracked under the study's lock, so none in flight then means none unsettled in the read.
   * `compacted`: the index held one readable, settled line per instance, nothing a compaction drops.
   */
  private async settledContents(studyUid: string): Promise<{ generation: number; contents: IndexContents; compacted: boolean }> {
    for (;;) {
      const read = await this.lock.run(studyUid, async () => {
        const inFlight = this.options.settlement?.whenSettled(studyUid);
        if (inFlight !== undefined) {
          return { inFlight };
        }
        return { generation: this.generations.get(studyUid) ?? 0, contents: await this.options.index.read(studyUid) };
      });
      if ('inFlight' in read) {
        await read.inFlight;
        continue;
      }
      const { settlement } = this.options;
      const all = read.contents.records;
      const records = settlement === undefined ? all : all.filter((record) => settlement.stateOf(studyUid, record.spoolPath) !== 'void');
      const compacted = read.contents.unreadableLines === 0 && records.length === all.length && new Set(all.map((record) => record.sopInstanceUid)).size === all.length;
      return { generation: read.generation, contents: { ...read.contents, records }, compacted };
    }
  }

  private async manifestOf(
    snapshot: NonNullable<ReturnType<typeof buildSnapshot>>,
    logger: Logger,
  ): Promise<StudyManifest | undefined> {
    // Every instance rejected (IHE IOCM): nothing to reference, and the study leaves the index.
    if (!this.options.manifests || snapshot.series.length === 0) {
      return undefined;
    }
    try {
      return await this.options.manifests.update(snapshot);
    } catch (error) {
      if (error instanceof ManifestBuildError) {
        logger.warn({ reason: error.message }, 'study published without a manifest');
        return undefined;
      }
      throw error;
    }
  }

  /** Reading the index or publishing failed: the marker stays, and the study is tried again later. */
  private retryLater(studyUid: string, error: unknown): void {
    this.options.metrics.studyPublishFailures.inc();
    const attempt = this.attempts.get(studyUid) ?? 0;
    this.attempts.set(studyUid, attempt + 1);
    const delay = backoffDelay(attempt, this.options.retry.initialMs, this.options.retry.maxMs);
    this.options.logger.error(
      { studyInstanceUid: studyUid, err: errorMessage(error), attempt, retryInMs: delay },
      'publishing the study snapshot failed',
    );
    // If an instance arrived meanwhile, its quiet period already leads to a new attempt.
    if (!this.tracker.isWaiting(studyUid)) {
      this.tracker.touch(studyUid, delay);
    }
  }

  private async clearIfUnchanged(studyUid: string, generation: number, compacted: boolean): Promise<void> {
    await this.lock.run(studyUid, async () => {
      if ((this.generations.get(studyUid) ?? 0) !== generation) {
        return;
      }
      // Compacted first: a void line must be out of the index before the study stops being pending
      // (only a pending study's lines are checked against their files after a crash).
      await this.compact(studyUid, compacted);
      await this.options.markers.clear(studyUid);
      this.pending.delete(studyUid);
      this.generations.delete(studyUid);
      this.attempts.delete(studyUid);
    });
  }

  /**
   * Re-sends left older lines in the index, and failed stores void ones: keep the last settled line
   * of each instance, and remove the file of a place the instance left when it was sent again with
   * another series (under the study's lock, nothing is appended meanwhile). Fails only when void
   * lines could not be dropped: the study then stays pending, and is tried again. An index the
   * snapshot's read found compacted is not read again: the generation is unchanged, so it holds
   * exactly those lines (a study of 500 instances: ~45 ms of the main thread, during other studies'
   * completions in a burst).
   */
  private async compact(studyUid: string, compacted: boolean): Promise<void> {
    const voided = this.options.settlement?.voidOf(studyUid) ?? new Set<string>();
    if (compacted && voided.size === 0) {
      await this.options.index.release(studyUid);
      this.options.outbox?.forget(studyUid);
      return;
    }
    const compact = (): Promise<number> => this.options.index.compact(studyUid, voided);
    try {
      if (this.options.outbox) {
        await this.options.outbox.rewritten(studyUid, compact);
        this.options.outbox.forget(studyUid);
      } else {
        await compact();
      }
      this.options.settlement?.forgetVoid(studyUid, voided);
    } catch (error) {
      if (voided.size > 0) {
        throw error;
      }
      // The study is published: an uncompacted index only costs space (its last line of each
      // instance is the one published), and is compacted next time, an older place's file with it.
      this.options.logger.warn({ studyInstanceUid: studyUid, err: errorMessage(error) }, 'could not compact the study index (or remove the file of a place an instance left)');
    }
  }
}
