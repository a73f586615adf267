import { ConnectionTimers, type Expiry } from './connection-timers';

const SETTINGS = { artimMs: 30_000, idleMs: 120_000 };

describe('ConnectionTimers', () => {
  let expired: Expiry[];
  let timers: ConnectionTimers;

  beforeEach(() => {
    jest.useFakeTimers();
    expired = [];
    timers = new ConnectionTimers(SETTINGS, (which) => expired.push(which));
  });

  afterEach(() => {
    timers.stop();
    jest.useRealTimers();
  });

  it('when a connection is never associated, ARTIM expires after its time, whatever arrives meanwhile', () => {
    jest.advanceTimersByTime(29_000);
    timers.activity(); // a truncated A-ASSOCIATE-RQ trickling in does not buy time
    jest.advanceTimersByTime(999);
    expect(expired).toEqual([]);

    jest.advanceTimersByTime(1);
    expect(expired).toEqual(['artim']);
  });

  it('once associated, ARTIM is off and the idle timer restarts with every byte of the peer', () => {
    jest.advanceTimersByTime(10_000);
    timers.associated();
    jest.advanceTimersByTime(100_000);
    timers.activity();
    jest.advanceTimersByTime(119_999);
    expect(expired).toEqual([]);

    jest.advanceTimersByTime(1);
    expect(expired).toEqual(['idle']);
  });

  it('after we reject or release, the peer has ARTIM to close the connection', () => {
    timers.associated();
    jest.advanceTimersByTime(60_000);
    timers.closing();
    timers.activity();
    jest.advanceTimersByTime(30_000);

    expect(expired).toEqual(['artim']);
  });

  it('once stopped, nothing expires', () => {
    timers.stop();
    jest.advanceTimersByTime(1_000_000);

    expect(expired).toEqual([]);
  });
});
