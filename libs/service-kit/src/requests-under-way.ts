import type { RequestHandler } from 'express';

/**
 * The requests a server is answering, so that a stop lets them finish before it closes what they
 * use. For routes mounted on the ops server, which stops last (its /readyz answers while the rest
 * stops): without it, a request under way when the service stops finds its Kafka producer or its
 * view's file already closed.
 */
export class RequestsUnderWay {
  private count = 0;
  private stopping = false;
  private readonly whenIdle: Array<() => void> = [];

  /** True once `close` was called: the routes answer new requests 503. */
  get closing(): boolean {
    return this.stopping;
  }

  /** Counts each request from its arrival until its response is sent or its connection closed. */
  readonly track: RequestHandler = (_req, res, next) => {
    this.count++;
    res.once('close', () => {
      this.count--;
      if (this.count === 0) {
        this.whenIdle.splice(0).forEach((resolve) => resolve());
      }
    });
    next();
  };

  /** Marks the server closing; resolves once every request under way is answered, or after `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    this.stopping = true;
    if (this.count === 0) {
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.whenIdle.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }
}
