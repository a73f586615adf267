import { randomUUID } from 'node:crypto';
import { readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDirectory, mkdirDurable } from './fs-durable';
import { KeyedGroupCommit } from './group-commit';

/**
 * Where instances live on disk:
 *
 *   <root>/<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm   stored Part 10 files
 *   <root>/.incoming/<random>.part                       instances being received (same file system,
 *                                                         so that committing is an atomic rename)
 *
 * UIDs are validated (digits and dots only) before they become path segments.
 */
export class InstanceFiles {
  readonly incomingDir: string;
  /** Series directories known to exist durably: spares a mkdir per instance. Bounded, cleared when full. */
  private readonly knownDirs = new Set<string>();
  /** Renames into one series directory while its fsync runs share the next fsync (group commit). */
  private readonly directorySyncs = new KeyedGroupCommit<void>((dir) => fsyncDirectory(dir));

  constructor(readonly root: string) {
    this.incomingDir = path.join(root, '.incoming');
  }

  /** Creates the layout and removes what a previous run left half received. */
  async prepare(): Promise<number> {
    await mkdirDurable(this.incomingDir);
    const leftovers = await readdir(this.incomingDir);
    await Promise.all(leftovers.map((name) => rm(path.join(this.incomingDir, name), { force: true })));
    return leftovers.length;
  }

  newIncomingPath(): string {
    return path.join(this.incomingDir, `${randomUUID()}.part`);
  }

  /** Path relative to the root, as carried by the events. */
  relativePath(studyUid: string, seriesUid: string, sopInstanceUid: string): string {
    return path.posix.join(studyUid, seriesUid, `${sopInstanceUid}.dcm`);
  }

  studyDir(studyUid: string): string {
    return path.join(this.root, studyUid);
  }

  /**
   * Moves a received (already fsynced) file to its place, replacing an earlier copy atomically, and
   * makes the new directory entry durable.
   */
  async commit(incomingPath: string, studyUid: string, seriesUid: string, sopInstanceUid: string): Promise<string> {
    const relative = this.relativePath(studyUid, seriesUid, sopInstanceUid);
    const target = path.join(this.root, relative);
    const seriesDir = path.dirname(target);
    if (!this.knownDirs.has(seriesDir)) {
      await this.createDir(seriesDir);
    }
    try {
      await rename(incomingPath, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw error;
      }
      // The directory may have been removed behind our back (a clean-up job): create it again, once.
      await this.createDir(seriesDir);
      await rename(incomingPath, target);
    }
    await this.directorySyncs.add(seriesDir, undefined);
    return relative;
  }

  private async createDir(dir: string): Promise<void> {
    await mkdirDurable(dir);
    if (this.knownDirs.size >= 10_000) {
      this.knownDirs.clear();
    }
    this.knownDirs.add(dir);
  }

  async discard(incomingPath: string): Promise<void> {
    await rm(incomingPath, { force: true });
  }

  /** Readiness: the directory accepts a durable write right now (not full, not read-only). */
  async probeWritable(): Promise<void> {
    const probe = path.join(this.incomingDir, `.probe-${randomUUID()}`);
    await writeFile(probe, 'ok', { flush: true });
    await unlink(probe);
  }
}
