/**
 * Our patch of kafkajs (patches/README.md): a broker connection's request queue schedules a check
 * of its pending requests only when some are pending. Unpatched, it re-armed a 1 ms timer forever
 * on every connection, idle or not. kafkajs's request queue is internal, so it is loaded by path.
 */

interface PushedRequest {
  entry: { correlationId: number; apiKey: number; apiName: string; apiVersion: number; resolve: () => void; reject: () => void };
  expectResponse: boolean;
  sendRequest: () => void;
}

interface RequestQueue {
  push(request: PushedRequest): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(milliseconds: number): void;
  destroy(): void;
}

type RequestQueueClass = new (options: {
  maxInFlightRequests: number | null;
  requestTimeout: number;
  enforceRequestTimeout: boolean;
  clientId: string;
  broker: string;
  logger: unknown;
}) => RequestQueue;

const RequestQueueClass = jest.requireActual<RequestQueueClass>('kafkajs/src/network/requestQueue');

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function newQueue(maxInFlightRequests: number | null = null): RequestQueue {
  // enforceRequestTimeout off: its own interval is not what is tested here.
  return new RequestQueueClass({ maxInFlightRequests, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'localhost:9092', logger: silent });
}

function request(correlationId: number, sent: number[]): PushedRequest {
  return {
    entry: { correlationId, apiKey: 0, apiName: 'Produce', apiVersion: 7, resolve: () => undefined, reject: () => undefined },
    expectResponse: true,
    sendRequest: () => sent.push(correlationId),
  };
}

const response = (correlationId: number) => ({ correlationId, payload: Buffer.alloc(0), size: 0 });

/** A check scheduled while something was pending may still fire once; none may arm another. */
function expectNoTimerLeft(): void {
  jest.runOnlyPendingTimers();
  expect(jest.getTimerCount()).toBe(0);
}

describe('kafkajs RequestQueue (patched)', () => {
  let queue: RequestQueue;

  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    queue.destroy();
    jest.useRealTimers();
  });

  test('a connection with nothing pending keeps no timer running after its requests were answered', () => {
    queue = newQueue();
    const sent: number[] = [];
    queue.push(request(1, sent));
    queue.fulfillRequest(response(1));
    expect(sent).toEqual([1]);
    expectNoTimerLeft();
  });

  test('a request pushed while throttled is sent when the throttle ends, and no timer is left', () => {
    queue = newQueue();
    const sent: number[] = [];
    queue.maybeThrottle(50);
    queue.push(request(1, sent));
    expect(sent).toEqual([]);
    jest.advanceTimersByTime(49);
    expect(sent).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(sent).toEqual([1]);
    queue.fulfillRequest(response(1));
    expectNoTimerLeft();
  });

  test('a request over the in-flight limit is sent once one in flight is answered', () => {
    queue = newQueue(1);
    const sent: number[] = [];
    queue.push(request(1, sent));
    queue.push(request(2, sent));
    expect(sent).toEqual([1]);
    queue.fulfillRequest(response(1));
    expect(sent).toEqual([1, 2]);
    queue.fulfillRequest(response(2));
    expectNoTimerLeft();
  });
});
