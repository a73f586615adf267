import type { RequestHandler } from 'express';
import type { ReadinessCheck } from './readiness';

/**
 * The requests a server is answering, so that a stop lets them finish before it closes what they
 * use. For routes mounted on the ops server, which stops last (its /readyz answers while the rest
 * stops): without it, a request under way when the service stops finds its Kafka producer or its
 * view's file already closed. A request is under way until its response is sent or its client
 * goes away (its handler may then still be running: the stop no longer waits for it).
 */
export class RequestsUnderWay {
  private count = 0;
  private stopping = false;
  private readonly whenIdle: Array<() => void> = [];

  /** True once `close` was called: the routes answer new requests 503. */
  get closing(): boolean {
    return this.stopping;
  }

  /** Counts each request from its arrival until its response is sent or its connection closed; once closing, none (the routes answer them 503 at once). */
  readonly track: RequestHandler = (_req, res, next) => {
    if (this.stopping) {
      next();
      return;
    }
    this.count++;
    res.once('close', () => {
      this.count--;
      if (this.count === 0) {
        this.whenIdle.splice(0).forEach((resolve) => resolve());
      }
    });
    next();
  };

  /** For /readyz: fails once closing, so that a load balancer stops sending requests here. */
  readonly readiness: ReadinessCheck = {
    name: 'accepting requests',
    probe: async () => {
      if (this.stopping) {
        throw new Error('stopping');
      }
    },
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
