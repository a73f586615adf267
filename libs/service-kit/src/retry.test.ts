import { backoffDelay, retry } from './retry';

class Passing extends Error {}
const isRetryable = (error: unknown) => error instanceof Passing;
const fast = { isRetryable, initialMs: 1, maxMs: 4 };

/** An operation that fails with the given errors, in order, then answers `done`. */
function failing(...errors: Error[]) {
  const calls: number[] = [];
  const operation = async (attempt: number) => {
    calls.push(attempt);
    const error = errors[attempt];
    if (error) throw error;
    return 'done';
  };
  return { operation, calls };
}

describe('retry', () => {
  it('tries again while the failure may pass, then answers', async () => {
    const { operation, calls } = failing(new Passing('down'), new Passing('down'));
    const retries: number[] = [];
    await expect(retry(operation, { ...fast, onRetry: ({ attempt }) => void retries.push(attempt) })).resolves.toBe('done');
    expect(calls).toEqual([0, 1, 2]);
    expect(retries).toEqual([0, 1]);
  });

  it('throws a permanent failure at once', async () => {
    const { operation, calls } = failing(new Error('bad request'));
    await expect(retry(operation, fast)).rejects.toThrow('bad request');
    expect(calls).toEqual([0]);
  });

  it('gives up after its attempts, with the last failure', async () => {
    const { operation, calls } = failing(new Passing('1'), new Passing('2'), new Passing('3'), new Passing('4'));
    await expect(retry(operation, { ...fast, attempts: 3 })).rejects.toThrow('3');
    expect(calls).toEqual([0, 1, 2]);
  });

  it('schedules no attempt past its deadline', async () => {
    const { operation, calls } = failing(...Array.from({ length: 100 }, () => new Passing('down')));
    const scheduledAt: number[] = [];
    const started = Date.now();
    const onRetry = ({ delayMs }: { delayMs: number }) => void scheduledAt.push(Date.now() - started + delayMs);
    await expect(retry(operation, { isRetryable, initialMs: 20, maxMs: 20, deadlineMs: 50, onRetry })).rejects.toThrow('down');
    // Delays of 10–20 ms (jitter) within 50 ms: at least two attempts. A timer may fire late on a busy
    // machine, so what is checked is when each attempt was due; 1 ms for the clock's tick between
    // this test's start and retry's own.
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...scheduledAt)).toBeLessThanOrEqual(51);
  });

  it('stops waiting when aborted, with the last failure', async () => {
    const controller = new AbortController();
    const { operation, calls } = failing(...Array.from({ length: 100 }, () => new Passing('down')));
    setTimeout(() => controller.abort(), 30);
    const started = Date.now();
    await expect(retry(operation, { isRetryable, initialMs: 10_000, maxMs: 10_000, signal: controller.signal })).rejects.toThrow('down');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(calls).toEqual([0]);
  });
});

describe('backoffDelay', () => {
  it.each([
    [0, 100, 10_000, 50, 100],
    [3, 100, 10_000, 400, 800],
    [30, 100, 10_000, 5_000, 10_000],
  ])('attempt %i from %i ms capped at %i ms waits between %i and %i ms', (attempt, initial, max, low, high) => {
    for (let i = 0; i < 50; i++) {
      const delay = backoffDelay(attempt, initial, max);
      expect(delay).toBeGreaterThanOrEqual(low);
      expect(delay).toBeLessThanOrEqual(high);
    }
  });
});
