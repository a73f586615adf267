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
    await writeFile(path.join(this.dir, studyUid), '', { flush: true });
    await fsyncDirectory(this.dir);
  }

  /** Losing a removal to a crash only means one more (identical) snapshot: no directory fsync. */
  async clear(studyUid: string): Promise<void> {
    await rm(path.join(this.dir, studyUid), { force: true });
  }

  async list(): Promise<string[]> {
    const names = await readdir(this.dir);
    return names.filter((name) => dicomUidSchema.safeParse(name).success);
  }
}
