import type { Request } from 'express';
import { SESSION_COOKIE, SessionStore } from './session';

const MINUTE = 60_000;

/** A request carrying the session's cookie, as the browser sends it. */
const requestWith = (id: string) => ({ headers: { cookie: `${SESSION_COOKIE}=${id}` } }) as unknown as Request;

describe('desk sessions end when unused, and a fixed time after sign-in however busy', () => {
  test.each<[string, number[], boolean]>([
    ['used every 10 minutes for an hour: alive', [10, 10, 10, 10, 10, 10], true],
    ['left 31 minutes: ended', [31], false],
    ['used every 25 minutes for 12 hours: alive', Array.from({ length: 28 }, () => 25), true],
    ['used every 25 minutes past 12 hours: ended', Array.from({ length: 30 }, () => 25), false],
  ])('%s', (_situation, pauses, alive) => {
    let now = Date.UTC(2026, 11, 7, 8);
    const sessions = new SessionStore({ idleMs: 30 * MINUTE, maxMs: 12 * 60 * MINUTE }, () => now);
    const session = sessions.create('desk');
    let current = sessions.current(requestWith(session.id));
    for (const pause of pauses) {
      now += pause * MINUTE;
      current = sessions.current(requestWith(session.id));
    }
    expect(current?.id === session.id).toBe(alive);
  });

  test('an ended session stays ended: its cookie does not come back to life', () => {
    let now = 0;
    const sessions = new SessionStore({ idleMs: 30 * MINUTE, maxMs: 60 * MINUTE }, () => now);
    const session = sessions.create('desk');
    now = 61 * MINUTE;
    expect(sessions.current(requestWith(session.id))).toBeUndefined();
    now = 0;
    expect(sessions.current(requestWith(session.id))).toBeUndefined();
  });
});
