/**
 * Runs tasks one at a time per key, in the order they were asked; different keys run in
 * parallel. Used where two kinds of work on one thing must not interleave: the instances of one
 * study (ingest), or publishing a patient's study and applying a new decision of the same patient,
 * which must take the same key so that a refusal is never overtaken by a publication under way.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const turn = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => turn);
    this.tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      if (this.tails.get(key) === tail) {
        this.tails.delete(key);
      }
    }
  }

  /** Keys with a task running or waiting. */
  get size(): number {
    return this.tails.size;
  }
}
