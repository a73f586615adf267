import { QuietPeriodTracker } from './quiet-period';

describe('QuietPeriodTracker', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('fires once the key has not been touched for the delay', () => {
    const quiet: string[] = [];
    const tracker = new QuietPeriodTracker((key) => quiet.push(key));

    tracker.touch('study', 5000);
    jest.advanceTimersByTime(4999);
    expect(quiet).toEqual([]);
    jest.advanceTimersByTime(1);

    expect(quiet).toEqual(['study']);
    expect(tracker.isWaiting('study')).toBe(false);
  });

  it('when touched again before the end, the period starts over and it fires once', () => {
    const quiet: string[] = [];
    const tracker = new QuietPeriodTracker((key) => quiet.push(key));

    tracker.touch('study', 5000);
    jest.advanceTimersByTime(4000);
    tracker.touch('study', 5000);
    jest.advanceTimersByTime(4000);
    expect(quiet).toEqual([]);
    jest.advanceTimersByTime(1000);

    expect(quiet).toEqual(['study']);
  });

  it('keeps one timer per key', () => {
    const quiet: string[] = [];
    const tracker = new QuietPeriodTracker((key) => quiet.push(key));

    tracker.touch('a', 1000);
    tracker.touch('b', 3000);
    expect(tracker.size).toBe(2);
    jest.advanceTimersByTime(1000);
    expect(quiet).toEqual(['a']);
    jest.advanceTimersByTime(2000);

    expect(quiet).toEqual(['a', 'b']);
    expect(tracker.size).toBe(0);
  });

  it('after stop, nothing fires and touches are ignored', () => {
    const quiet: string[] = [];
    const tracker = new QuietPeriodTracker((key) => quiet.push(key));

    tracker.touch('a', 1000);
    tracker.stop();
    tracker.touch('b', 1000);
    jest.advanceTimersByTime(10_000);

    expect(quiet).toEqual([]);
    expect(tracker.size).toBe(0);
  });

  it('cancel forgets a key', () => {
    const quiet: string[] = [];
    const tracker = new QuietPeriodTracker((key) => quiet.push(key));

    tracker.touch('a', 1000);
    tracker.cancel('a');
    jest.advanceTimersByTime(1000);

    expect(quiet).toEqual([]);
  });
});
