import { randomUUID } from 'node:crypto';
import { readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDirectory, mkdirDurable } from './fs-durable';
import { KeyedGroupCommit } from './group-commit';
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
  /** Fsyncs of one directory asked while one runs share the next (group commit). */
  private readonly directorySyncs = new KeyedGroupCommit<void>((dir) => fsyncDirectory(dir));

  constructor(
    readonly root: string,
    spoolPoolSize = 64,
  ) {
    this.incomingDir = path.join(root, '.incoming');
    this.spoolDir = path.join(root, '.spool');
    this.pool = new SpoolPool(this.spoolDir, { size: spoolPoolSize });
  }

  /**
   * Creates the layout and removes the manifests a previous run left half written. The spool files
   * it left are kept: study indexes may point at some of them until recovered (`startSpool`).
   */
  async prepare(): Promise<number> {
    await mkdirDurable(this.incomingDir);
    await mkdirDurable(this.spoolDir);
    const leftovers = await readdir(this.incomingDir);
    await Promise.all(leftovers.map((name) => rm(path.join(this.incomingDir, name), { force: true })));
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

  /** Closes the spool files kept open (at shutdown, once no C-STORE is under way). */
  closeSpool(): Promise<void> {
    return this.pool.close();
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
   * Moves a received (already fsynced) spool file to its place, replacing an earlier copy
   * atomically. The rename's directory entries are not fsynced here: the study index records the
   * spool file too, so that a restart finishes a rename a crash undid (StudyIndex.dropUnplaced), and
   * `syncPlaced` makes them durable before the study is published. Returns the path relative to the root.
   */
  async place(spoolPath: string, studyUid: string, seriesUid: string, sopInstanceUid: string): Promise<string> {
    const { relative, seriesDir } = await this.moveIntoPlace(spoolPath, studyUid, seriesUid, sopInstanceUid);
    this.unsynced.add(seriesDir);
    this.unsynced.add(path.dirname(spoolPath));
    return relative;
  }

  /** Makes durable the directory entries of every rename made so far by `place`. */
  async syncPlaced(): Promise<void> {
    const dirs = [...this.unsynced];
    this.unsynced.clear();
    try {
      await Promise.all(dirs.map((dir) => this.directorySyncs.add(dir, undefined)));
    } catch (error) {
      dirs.forEach((dir) => this.unsynced.add(dir));
      throw error;
    }
  }

  /** Moves a written (already fsynced) file to its place and makes its new directory entry durable at once. */
  async commit(incomingPath: string, studyUid: string, seriesUid: string, sopInstanceUid: string): Promise<string> {
    const { relative, seriesDir } = await this.moveIntoPlace(incomingPath, studyUid, seriesUid, sopInstanceUid);
    await this.directorySyncs.add(seriesDir, undefined);
    return relative;
  }

  private async moveIntoPlace(
    from: string,
    studyUid: string,
    seriesUid: string,
    sopInstanceUid: string,
  ): Promise<{ relative: string; seriesDir: string }> {
    const relative = this.relativePath(studyUid, seriesUid, sopInstanceUid);
    const target = path.join(this.root, relative);
    const seriesDir = path.dirname(target);
    if (!this.knownDirs.has(seriesDir)) {
      await this.createDir(seriesDir);
    }
    try {
      await rename(from, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw error;
      }
      // The directory may have been removed behind our back (a clean-up job): create it again, once.
      await this.createDir(seriesDir);
      await rename(from, target);
    }
    return { relative, seriesDir };
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
