const ignore = (): void => undefined;

/**
 * Group commit: every item added while a flush runs goes into the next flush, so that concurrent
 * callers share one write and one fsync. A flush starts only after the items of its batch were
 * added, so a caller's promise resolves only once a flush that covered its item has completed;
 * a failed flush rejects the callers of that batch only. `exclusive` runs a task between flushes
 * (after the batch already open), for readers and rewriters of the same file.
 */
export class GroupCommit<T> {
  private open: T[] | undefined;
  private openRun: Promise<void> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly flush: (items: T[]) => Promise<void>,
    /** Called when nothing is queued or running any more (lets an owner forget idle instances). */
    private readonly onIdle: () => void = ignore,
  ) {}

  add(item: T): Promise<void> {
    if (this.open === undefined || this.openRun === undefined) {
      const items: T[] = [];
      const run = this.tail.then(ignore, ignore).then(() => {
        if (this.open === items) {
          this.open = undefined;
          this.openRun = undefined;
        }
        return this.flush(items);
      });
      this.open = items;
      this.openRun = run;
      this.track(run);
    }
    this.open.push(item);
    return this.openRun;
  }

  exclusive<R>(task: () => Promise<R>): Promise<R> {
    const run = this.tail.then(ignore, ignore).then(task);
    this.open = undefined;
    this.openRun = undefined;
    this.track(run);
    return run;
  }

  private track(run: Promise<unknown>): void {
    this.tail = run;
    this.pending++;
    void run.then(ignore, ignore).then(() => {
      this.pending--;
      if (this.pending === 0) {
        this.onIdle();
      }
    });
  }
}

/** One GroupCommit per key (a file, a directory), forgotten when idle so that the map stays small. */
export class KeyedGroupCommit<T> {
  private readonly groups = new Map<string, GroupCommit<T>>();

  constructor(private readonly flush: (key: string, items: T[]) => Promise<void>) {}

  add(key: string, item: T): Promise<void> {
    return this.group(key).add(item);
  }

  exclusive<R>(key: string, task: () => Promise<R>): Promise<R> {
    return this.group(key).exclusive(task);
  }

  private group(key: string): GroupCommit<T> {
    let group = this.groups.get(key);
    if (group === undefined) {
      const created = new GroupCommit<T>(
        (items) => this.flush(key, items),
        () => {
          if (this.groups.get(key) === created) {
            this.groups.delete(key);
          }
        },
      );
      group = created;
      this.groups.set(key, group);
    }
    return group;
  }
}
