import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { dicomUidSchema } from '@imaging-facade/dicom';
import { fsyncDirectory, mkdirDurable } from '../storage/fs-durable';

/**
 * `<root>/.pending/<StudyUID>`: an empty file per study that received instances since its last
 * published snapshot. It is created (durably) before the first such instance is acknowledged and
 * removed only after the snapshot is on Kafka, so a crash never loses a study's completion. Kept
 * in one directory so that a restart finds them with a single listing.
 */
export class PendingMarkers {
  private readonly dir: string;

  constructor(root: string) {
    this.dir = path.join(root, '.pending');
  }

  async prepare(): Promise<void> {
    await mkdirDurable(this.dir);
  }

  async mark(studyUid: string): Promise<void> {
    const marker = path.join(this.dir, studyUid);
    await writeFile(marker, '', { flush: true }).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EISDIR') {
        throw error;
      }
      // A directory someone made under the study's name failed every store of the study: the
      // directory is the node's own, and a directory there marks the study pending all the same.
      await rm(marker, { recursive: true, force: true });
      await writeFile(marker, '', { flush: true });
    });
    await fsyncDirectory(this.dir);
  }

  /** Losing a removal to a crash only means one more (identical) snapshot: no directory fsync. */
  async clear(studyUid: string): Promise<void> {
    await rm(path.join(this.dir, studyUid), { recursive: true, force: true });
  }

  async list(): Promise<string[]> {
    const names = await readdir(this.dir);
    return names.filter((name) => dicomUidSchema.safeParse(name).success);
  }
}
