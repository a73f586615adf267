import { Worker } from 'node:worker_threads';
import { RequestThread } from './request-thread';

/** Answers `{ id, double }` with twice its value after `delayMs`; `exit: true` ends the thread at once. */
const ECHO_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (request) => {
  if (request.exit) process.exit(3);
  setTimeout(() => parentPort.postMessage({ id: request.id, doubled: request.value * 2 }), request.delayMs ?? 0);
});
`;

type Request = { value?: number; delayMs?: number; exit?: boolean };
type Reply = { id: number; doubled: number };

describe('RequestThread', () => {
  let started: number;
  let thread: RequestThread<Request, Reply>;

  beforeEach(() => {
    started = 0;
    thread = new RequestThread<Request, Reply>(() => {
      started++;
      return new Worker(ECHO_SOURCE, { eval: true });
    }, 'echo');
  });
  afterEach(() => thread.close());

  it('answers each request with its own reply, also when they are answered out of order', async () => {
    const replies = await Promise.all([thread.request({ value: 1, delayMs: 60 }), thread.request({ value: 2 }), thread.request({ value: 3, delayMs: 20 })]);
    expect(replies.map((reply) => reply.doubled)).toEqual([2, 4, 6]);
    expect(started).toBe(1);
  });

  it('fails the requests under way when the thread exits, and starts a new one for the next', async () => {
    const waiting = thread.request({ value: 1, delayMs: 500 });
    const exiting = thread.request({ exit: true });
    await expect(waiting).rejects.toThrow('the echo thread exited (code 3)');
    await expect(exiting).rejects.toThrow('the echo thread exited (code 3)');
    await expect(thread.request({ value: 5 })).resolves.toMatchObject({ doubled: 10 });
    expect(started).toBe(2);
  });

  it('closes once the requests under way are answered', async () => {
    const answered = thread.request({ value: 4, delayMs: 100 });
    await thread.close();
    await expect(answered).resolves.toMatchObject({ doubled: 8 });
    await expect(thread.request({ value: 1 })).resolves.toMatchObject({ doubled: 2 });
    expect(started).toBe(2);
  });
});
