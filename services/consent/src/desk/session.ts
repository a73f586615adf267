import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

/** A signed-in desk user: who, and the token every form they post must carry (CSRF). */
export interface DeskSession {
  id: string;
  user: string;
  csrfToken: string;
  /** When the user signed in (ms): the session ends `maxMs` later, however busy. */
  signedInAt: number;
  lastSeen: number;
}

export const SESSION_COOKIE = 'consent_desk_session';
/** Double-submit token of the sign-in form, before any session exists. */
export const LOGIN_COOKIE = 'consent_desk_login';
export const LANGUAGE_COOKIE = 'consent_desk_lang';

export interface SessionLimits {
  /** A session unused for this long ends. */
  idleMs: number;
  /** A session ends this long after its sign-in, used or not (a stolen cookie is not good forever). */
  maxMs: number;
}

/**
 * Desk sessions, in memory (a restart signs everybody out, which is acceptable for a desk). The
 * cookie holds only a random id: HttpOnly, SameSite=Strict, Secure when served over HTTPS.
 */
export class SessionStore {
  private readonly sessions = new Map<string, DeskSession>();

  constructor(
    private readonly limits: SessionLimits,
    private readonly now: () => number = Date.now,
  ) {}

  create(user: string): DeskSession {
    this.sweep();
    const now = this.now();
    const session = { id: token(), user, csrfToken: token(), signedInAt: now, lastSeen: now };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session the request's cookie names, refreshed; undefined when absent or expired. */
  current(req: Request): DeskSession | undefined {
    const id = readCookie(req, SESSION_COOKIE);
    const session = id ? this.sessions.get(id) : undefined;
    if (!session) {
      return undefined;
    }
    if (this.ended(session, this.now())) {
      this.sessions.delete(session.id);
      return undefined;
    }
    session.lastSeen = this.now();
    return session;
  }

  destroy(session: DeskSession): void {
    this.sessions.delete(session.id);
  }

  private ended(session: DeskSession, now: number): boolean {
    return now - session.lastSeen > this.limits.idleMs || now - session.signedInAt > this.limits.maxMs;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) {
      if (this.ended(session, now)) {
        this.sessions.delete(id);
      }
    }
  }
}

export function token(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares two secrets in constant time. */
export function sameSecret(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') {
    return false;
  }
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) {
      try {
        return decodeURIComponent(value.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The app setting that makes every cookie Secure (production: the desk is served over HTTPS, through a proxy). */
export const SECURE_COOKIES = 'facade secure cookies';

export function setCookie(req: Request, res: Response, name: string, value: string, maxAgeSeconds?: number): void {
  const attributes = [`${name}=${encodeURIComponent(value)}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (req.secure || req.app.get(SECURE_COOKIES) === true) attributes.push('Secure');
  if (maxAgeSeconds !== undefined) attributes.push(`Max-Age=${maxAgeSeconds}`);
  res.append('Set-Cookie', attributes.join('; '));
}
