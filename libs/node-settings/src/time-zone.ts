import { z } from 'zod';

/** An IANA time zone name (`Europe/Paris`, `UTC`), as the platform's Intl knows it. */
export const timeZoneSchema = z.string().refine(isKnownTimeZone, 'must be an IANA time zone name, e.g. Europe/Paris');

function isKnownTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
