import type { TransferListItem, Worker } from 'node:worker_threads';

const ignore = (): void => undefined;

/**
 * One worker thread that answers requests: each message posted carries an `id`, and the thread
 * answers it with one message carrying the same `id`. Started on first use; keeps the process alive
 * only while a request is under way. A thread that fails (an uncaught error, an exit) fails the
 * requests under way, and the next request starts a new one. `close` ends it once the requests
 * under way are answered; a later request starts a new one.
 */
export class RequestThread<Request extends object, Reply extends { id: number }> {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: unknown) => void }>();
  /** Settles as each request is answered or failed: what `close` waits for. */
  private readonly underWay = new Set<Promise<void>>();

  /** `start` makes a new worker; `name` says which thread failed, in errors. */
  constructor(
    private readonly start: () => Worker,
    private readonly name: string,
  ) {}

  /** `transfer`: buffers handed to the thread rather than copied (they are unusable here afterwards). */
  request(message: Request, transfer: readonly TransferListItem[] = []): Promise<Reply> {
    const worker = this.started();
    const id = this.nextId++;
    const answered = new Promise<Reply>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    const settled = answered.then(ignore, ignore);
    this.underWay.add(settled);
    void settled.then(() => this.underWay.delete(settled));
    worker.ref();
    worker.postMessage({ ...message, id }, [...transfer]);
    return answered;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) {
      return;
    }
    await Promise.all([...this.underWay]);
    if (this.worker === worker) {
      this.worker = undefined;
    }
    await worker.terminate();
  }

  private started(): Worker {
    if (this.worker !== undefined) {
      return this.worker;
    }
    const worker = this.start();
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const entry = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) {
        worker.unref();
      }
      entry?.resolve(reply);
    });
    const fail = (error: unknown): void => {
      if (this.worker !== worker) {
        return;
      }
      this.worker = undefined;
      const entries = [...this.pending.values()];
      this.pending.clear();
      entries.forEach((entry) => entry.reject(error));
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the ${this.name} thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}
