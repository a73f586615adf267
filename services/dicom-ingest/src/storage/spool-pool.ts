import { randomUUID } from 'node:crypto';
import { open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDirectory, mkdirDurable } from './fs-durable';

/** A file of the pool: its path, and when its (empty) directory entry is durable. */
export interface ClaimedFile {
  path: string;
  ready: Promise<void>;
}

export interface SpoolPoolOptions {
  /** Files kept ready; a refill starts once fewer are left than half of it. */
  size: number;
}

const RESOLVED = Promise.resolve();

/**
 * Empty files created ahead of the instances written into them, their directory fsynced once per
 * batch: a C-STORE then makes its file durable with its own `fdatasync` only, instead of also
 * fsyncing the directory that holds a new name. A claim made while the pool is empty gets a name at
 * once, created (durably) in the next batch. Files left by a previous run are removed by `reset`,
 * once the study indexes no longer point at any of them (see StudyIndex.dropUnplaced).
 */
export class SpoolPool {
  private readonly ready: string[] = [];
  private demand: Array<{ path: string; resolve: () => void; reject: (error: unknown) => void }> = [];
  private refilling = false;

  constructor(
    readonly dir: string,
    private readonly options: SpoolPoolOptions = { size: 64 },
  ) {}

  /** Creates the directory, removes every file a previous run left, and fills the pool. Returns how many were removed. */
  async reset(): Promise<number> {
    await mkdirDurable(this.dir);
    const leftovers = await readdir(this.dir);
    await Promise.all(leftovers.map((name) => rm(path.join(this.dir, name), { force: true })));
    this.ready.length = 0;
    this.topUp();
    return leftovers.length;
  }

  claim(): ClaimedFile {
    const ready = this.ready.pop();
    if (ready !== undefined) {
      this.topUp();
      return { path: ready, ready: RESOLVED };
    }
    const claimed = this.newPath();
    const whenCreated = new Promise<void>((resolve, reject) => this.demand.push({ path: claimed, resolve, reject }));
    // Awaited by the spool file; a failure also reaches it from there.
    whenCreated.catch(() => undefined);
    this.topUp();
    return { path: claimed, ready: whenCreated };
  }

  private topUp(): void {
    if (this.refilling || (this.demand.length === 0 && this.ready.length >= this.options.size / 2)) {
      return;
    }
    this.refilling = true;
    void this.refill().then((ok) => {
      this.refilling = false;
      // After a failure (a full disk) only a new claim tries again: no loop of failing refills.
      if (ok || this.demand.length > 0) {
        this.topUp();
      }
    });
  }

  /** One batch: the names claimed meanwhile, topped up to the pool's size, created, then one directory fsync. */
  private async refill(): Promise<boolean> {
    const demand = this.demand;
    this.demand = [];
    const spare = Array.from({ length: Math.max(0, this.options.size - this.ready.length - demand.length) }, () => this.newPath());
    try {
      await Promise.all([...demand.map((claimed) => claimed.path), ...spare].map(createEmpty));
      await fsyncDirectory(this.dir);
    } catch (error) {
      demand.forEach((claimed) => claimed.reject(error));
      return false;
    }
    demand.forEach((claimed) => claimed.resolve());
    this.ready.push(...spare);
    return true;
  }

  private newPath(): string {
    return path.join(this.dir, `${randomUUID()}.part`);
  }
}

async function createEmpty(file: string): Promise<void> {
  const handle = await open(file, 'wx', 0o640);
  await handle.close();
}
