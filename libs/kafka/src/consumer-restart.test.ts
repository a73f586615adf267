import { EventEmitter } from 'node:events';
import type { Consumer } from 'kafkajs';
import { createLogger } from '@imaging-facade/service-kit';
import { restartAfterFatalCrash } from './consumer-restart';

/** The restart policy on a stand-in that emits kafkajs's CRASH event (the real broker case is in the .int test). */

class CrashingConsumer extends EventEmitter {
  readonly events = { CRASH: 'consumer.crash' };
  connects = 0;
  crash(restart: boolean): void {
    this.emit(this.events.CRASH, { payload: { error: new Error('coordinator not found'), groupId: 'g', restart } });
  }
  connect = async () => void (this.connects += 1);
  disconnect = async () => undefined;
}

const logger = createLogger('consumer-restart-test', 'silent');
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
/** Waits until `count` events were told (a loaded CI machine may take far longer than the backoff). */
async function until(events: string[], count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (events.length < count && Date.now() < deadline) {
    await settle();
  }
  await settle();
}
const backoff = { initialMs: 1, maxMs: 2 };

function setUp(runs: Array<() => Promise<void>> = []) {
  const consumer = new CrashingConsumer();
  const stopping = new AbortController();
  const events: string[] = [];
  let run = 0;
  restartAfterFatalCrash(consumer as unknown as Consumer, {
    run: async () => {
      events.push('run');
      await (runs[run++] ?? (async () => undefined))();
    },
    logger,
    signal: stopping.signal,
    backoff,
    onStopped: () => events.push('stopped'),
    onRunning: () => events.push('running'),
  });
  return { consumer, stopping, events };
}

test.each([
  { crash: 'a crash kafkajs restarts after itself', restart: true, expected: [] },
  { crash: 'a crash that leaves the consumer stopped', restart: false, expected: ['stopped', 'run', 'running'] },
])('$crash', async ({ restart, expected }) => {
  const { consumer, events } = setUp();
  consumer.crash(restart);
  await until(events, expected.length);
  expect(events).toEqual(expected);
});

test('a restart that fails is tried again until the consumer runs', async () => {
  const refused = async () => {
    throw new Error('no broker available');
  };
  const { consumer, events } = setUp([refused, refused]);
  consumer.crash(false);
  await until(events, 5);
  expect(events).toEqual(['stopped', 'run', 'run', 'run', 'running']);
  expect(consumer.connects).toBe(3);
});

test('a second fatal crash during a restart starts it once more afterwards', async () => {
  let release = () => undefined as void;
  const slow = () => new Promise<void>((resolve) => (release = resolve));
  const { consumer, events } = setUp([slow]);
  consumer.crash(false);
  await until(events, 2);
  consumer.crash(false);
  release();
  await until(events, 6);
  expect(events).toEqual(['stopped', 'run', 'stopped', 'running', 'run', 'running']);
});

test('nothing is restarted once the service stops', async () => {
  const { consumer, stopping, events } = setUp();
  stopping.abort();
  consumer.crash(false);
  await settle();
  expect(events).toEqual([]);
});
