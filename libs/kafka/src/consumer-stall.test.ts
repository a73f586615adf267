import { StalledMessages } from './consumer-stall';

describe('StalledMessages: a consumer retrying one message for long fails /readyz', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => {
    now = 1_000_000;
  });

  test.each<[string, (watch: StalledMessages) => void, number, RegExp | undefined]>([
    ['nothing retried', () => undefined, 0, undefined],
    ['a message retried for a minute (a FHIR server restarting)', (watch) => watch.retried('studies', 2, '41'), 60_000, undefined],
    ['a message retried past the limit', (watch) => watch.retried('studies', 2, '41'), 5 * 60_000 + 1, /^studies partition 2: offset 41 retried for 300 s \(1 attempts\)/],
    [
      'a message retried past the limit, then handled',
      (watch) => {
        watch.retried('studies', 2, '41');
        watch.settled('studies', 2);
      },
      10 * 60_000,
      undefined,
    ],
    [
      'the partition moved on to another message, retried only a minute',
      (watch) => {
        watch.retried('studies', 2, '41');
        now += 10 * 60_000;
        watch.retried('studies', 2, '42');
      },
      60_000,
      undefined,
    ],
  ])('%s', async (_situation, act, elapsedMs, error) => {
    const watch = new StalledMessages(5 * 60_000, clock);
    act(watch);
    now += elapsedMs;
    const probe = watch.readiness('study-consumer').probe();
    if (error) {
      await expect(probe).rejects.toThrow(error);
    } else {
      await expect(probe).resolves.toBeUndefined();
    }
  });

  test('names each stalled partition, with its attempts, and only them', () => {
    const watch = new StalledMessages(1000, clock);
    watch.retried('studies', 0, '7');
    watch.retried('studies', 0, '7');
    watch.retried('studies', 1, '9');
    now += 2000;
    watch.retried('studies', 2, '3');
    expect(watch.stalled()).toEqual([
      expect.stringMatching(/^studies partition 0: offset 7 retried for 2 s \(2 attempts\)/),
      expect.stringMatching(/^studies partition 1: offset 9 retried for 2 s \(1 attempts\)/),
    ]);
  });
});
