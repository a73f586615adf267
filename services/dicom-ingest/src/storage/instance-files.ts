import { randomUUID } from 'node:crypto';
import { readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FsBatchThread } from './fs-batch-thread';
import { fsyncDirectory, mkdirDurable } from './fs-durable';
import { GroupCommit, KeyedGroupCommit } from './group-commit';
import { SpoolPool, type ClaimedFile } from './spool-pool';

/**
 * Where instances live on disk:
 *
 *   <root>/<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm   stored Part 10 files
 *   <root>/.spool/<random>.part                          empty files made ahead (SpoolPool), each
 *                                                         received instance written into one, then
 *                                                         renamed to its place
 *   <root>/.incoming/<random>.part                       manifests being written
 *
 * All on one file system, so that placing a file is an atomic rename. UIDs are validated (digits
 * and dots only) before they become path segments.
 */
export class InstanceFiles {
  readonly incomingDir: string;
  readonly spoolDir: string;
  private readonly pool: SpoolPool;
  /** Series directories known to exist durably: spares a mkdir per instance. Bounded, cleared when full. */
  private readonly knownDirs = new Set<string>();
  /** Directories changed by renames whose entries were not fsynced yet (see `syncPlaced`). */
  private readonly unsynced = new Set<string>();
  /** Per place, the last deferred move queued (see `placeWhenRecorded`). */
  private readonly moving = new Map<string, Promise<void>>();
  /** Deferred moves that failed, per place: the spool file still to be moved there. */
  private readonly unmoved = new Map<string, string>();
  /** Fsyncs of one directory asked while one runs share the next (group commit). */
  private readonly directorySyncs = new KeyedGroupCommit<void>((dir) => fsyncDirectory(dir));
  /** Creates the spool's files and makes the moves, in batches (see FsBatchThread). */
  private readonly thread = new FsBatchThread();
  /** Moves asked while a batch of moves runs go together in the next one. */
  private readonly renames = new GroupCommit<PendingRename>(async (batch) => {
    const errors = await this.thread.renameAll(batch.map(({ from, to }) => [from, to]));
    batch.forEach((rename, i) => (rename.error = errors[i]));
  });

  constructor(
    readonly root: string,
    spoolPoolSize = 64,
  ) {
    this.incomingDir = path.join(root, '.incoming');
    this.spoolDir = path.join(root, '.spool');
    this.pool = new SpoolPool(this.spoolDir, { size: spoolPoolSize, thread: this.thread });
  }

  /**
   * Creates the layout and removes the manifests a previous run left half written. The spool files
   * it left are kept: study indexes may point at some of them until recovered (`startSpool`).
   */
  async prepare(): Promise<number> {
    await mkdirDurable(this.incomingDir);
    await mkdirDurable(this.spoolDir);
    const leftovers = await readdir(this.incomingDir);
    await Promise.all(leftovers.map((name) => rm(path.join(this.incomingDir, name), { recursive: true, force: true })));
    return leftovers.length;
  }

  /**
   * Once the pending studies are recovered (no index line points at a spool file any more):
   * removes the spool files a previous run left (never answered) and makes new ones. Returns how
   * many were removed.
   */
  startSpool(): Promise<number> {
    return this.pool.reset();
  }

  /** The file a C-STORE's dataset is written into: it exists (durably) and is open once `opened` resolves. */
  claimSpoolFile(): ClaimedFile {
    return this.pool.claim();
  }

  /**
   * At shutdown, once no C-STORE is under way: waits for the moves under way (one that fails is
   * finished by the next start) and closes the spool files kept open.
   */
  async closeSpool(): Promise<void> {
    await Promise.allSettled([...this.moving.values()]);
    this.pool.close();
    await this.thread.close();
  }

  newIncomingPath(): string {
    return path.join(this.incomingDir, `${randomUUID()}.part`);
  }

  /** Path relative to the root, as carried by the events. */
  relativePath(studyUid: string, seriesUid: string, sopInstanceUid: string): string {
    return path.posix.join(studyUid, seriesUid, `${sopInstanceUid}.dcm`);
  }

  /** A path under the root (a spool file), relative to it as the study index records it. */
  relativeToRoot(file: string): string {
    return path.relative(this.root, file).split(path.sep).join(path.posix.sep);
  }

  studyDir(studyUid: string): string {
    return path.join(this.root, studyUid);
  }

  /**
   * Where an instance goes, relative to the root, with its series directory made (durably) if it
   * is new: the study index in the study directory can then take its line before the file moves.
   */
  async destination(studyUid: string, seriesUid: string, sopInstanceUid: string): Promise<string> {
    const relative = this.relativePath(studyUid, seriesUid, sopInstanceUid);
    const seriesDir = path.dirname(path.join(this.root, relative));
    if (!this.knownDirs.has(seriesDir)) {
      await this.createDir(seriesDir);
    }
    return relative;
  }

  /**
   * Moves a received spool file to `relative` once `placeable` resolves true (its file and its
   * index line, which names both paths, are durable; false: the file's write failed, and it is
   * never moved): off the C-STORE's path, so that the answer waits for the two writes only. A
   * restart finishes a move a crash cut off (StudyIndex.dropUnplaced); `syncPlaced` finishes them,
   * and makes them durable, before a study is published. Moves to one place run in the order they
   * were asked, which is the order of their index lines (InstanceStore asks in the same tick as it
   * records), so the last line's file stays there.
   */
  placeWhenRecorded(spoolPath: string, relative: string, placeable: Promise<boolean>): Promise<void> {
    const target = path.join(this.root, relative);
    return this.queueMove(target, async () => {
      if (!(await placeable)) {
        return;
      }
      // The answer is sent in the same turn of the event loop as `placeable` settles: the rename is
      // handed to libuv's pool after it, not before it on the answer's path.
      await new Promise((resolve) => setImmediate(resolve));
      await this.move(spoolPath, target);
    });
  }

  /** Makes every move asked so far (retrying those that failed) and their directory entries durable. */
  async syncPlaced(): Promise<void> {
    await Promise.allSettled([...this.moving.values()]);
    await Promise.all(
      [...this.unmoved].map(([target, spoolPath]) =>
        this.queueMove(target, async () => {
          // Only if no later move to this place succeeded meanwhile.
          if (this.unmoved.get(target) === spoolPath) {
            await this.move(spoolPath, target);
          }
        }),
      ),
    );
    const dirs = [...this.unsynced];
    this.unsynced.clear();
    try {
      await Promise.all(dirs.map((dir) => this.directorySyncs.add(dir, undefined)));
    } catch (error) {
      dirs.forEach((dir) => this.unsynced.add(dir));
      throw error;
    }
  }

  /** Runs a move to `target` after the ones queued before it; settles when this one has run. */
  private queueMove(target: string, task: () => Promise<void>): Promise<void> {
    const run = (this.moving.get(target) ?? Promise.resolve()).then(task);
    const settled = run.catch(() => undefined);
    this.moving.set(target, settled);
    void settled.then(() => {
      if (this.moving.get(target) === settled) {
        this.moving.delete(target);
      }
    });
    return run;
  }

  /** One deferred move; a failure is remembered (and retried by `syncPlaced`), a success forgets the earlier ones. */
  private async move(spoolPath: string, target: string): Promise<void> {
    try {
      await this.renameInto(spoolPath, target);
    } catch (error) {
      this.unmoved.set(target, spoolPath);
      throw error;
    }
    this.unmoved.delete(target);
    this.unsynced.add(path.dirname(target));
    this.unsynced.add(path.dirname(spoolPath));
  }

  /** Moves a written (already fsynced) file to its place and makes its new directory entry durable at once. */
  async commit(incomingPath: string, studyUid: string, seriesUid: string, sopInstanceUid: string): Promise<string> {
    const relative = await this.destination(studyUid, seriesUid, sopInstanceUid);
    const target = path.join(this.root, relative);
    await this.renameInto(incomingPath, target);
    await this.directorySyncs.add(path.dirname(target), undefined);
    return relative;
  }

  private async renameInto(from: string, target: string): Promise<void> {
    const first: PendingRename = { from, to: target };
    await this.renames.add(first);
    if (first.error === undefined) {
      return;
    }
    if (first.error.code !== 'ENOENT') {
      throw first.error;
    }
    // The directory may have been removed behind our back (a clean-up job): create it again, once.
    await this.createDir(path.dirname(target));
    await rename(from, target);
  }

  private async createDir(dir: string): Promise<void> {
    await mkdirDurable(dir);
    if (this.knownDirs.size >= 10_000) {
      this.knownDirs.clear();
    }
    this.knownDirs.add(dir);
  }

  async discard(file: string): Promise<void> {
    await rm(file, { force: true });
  }

  /** Readiness: the directory accepts a durable write right now (not full, not read-only). */
  async probeWritable(): Promise<void> {
    const probe = path.join(this.incomingDir, `.probe-${randomUUID()}`);
    await writeFile(probe, 'ok', { flush: true });
    await unlink(probe);
  }
}

/** A move in a batch; `error` is set when its rename failed. */
interface PendingRename {
  from: string;
  to: string;
  error?: NodeJS.ErrnoException;
}
