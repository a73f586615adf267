/**
 * Values of the VRs with a syntax of their own (PS3.5 6.2): DA, TM, DT, TimezoneOffsetFromUTC,
 * PN, IS, DS. Parsers are total: a value that does not follow the syntax gives undefined, never an
 * exception, so that a caller leaves it out rather than guessing.
 */

/** A DA: a real calendar date, parts as written (zero-padded digits). */
export interface DicomDate {
  year: string;
  month: string;
  day: string;
}

/** DA `YYYYMMDD`; only real calendar dates (no 31 April, no year 0). */
export function parseDate(da: string): DicomDate | undefined {
  // The ACR-NEMA form YYYY.MM.DD, which PS3.5 6.2 asks readers to accept still.
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(da) ?? /^(\d{4})\.(\d{2})\.(\d{2})$/.exec(da);
  if (!match) {
    return undefined;
  }
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC rolls 31 April over into 1 May; a date that does not round-trip does not exist.
  const real = year >= 1 && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return real ? { year: match[1]!, month: match[2]!, day: match[3]! } : undefined;
}

/** A DA as it is written today (YYYYMMDD), from either form; undefined when it is not a date. */
export function currentFormDate(da: string): string | undefined {
  const date = parseDate(da.trim());
  return date ? `${date.year}${date.month}${date.day}` : undefined;
}

/** A TM as it is written today (HHMMSS.F), from either form; undefined when it is not a time. */
export function currentFormTime(tm: string): string | undefined {
  const time = parseTime(tm.trim());
  return time ? `${time.hours}${time.minutes ?? ''}${time.seconds ?? ''}${time.fraction ? `.${time.fraction}` : ''}` : undefined;
}

/** A TM, parts as written; the minutes and seconds a value leaves out are undefined. */
export interface DicomTime {
  hours: string;
  minutes?: string;
  seconds?: string;
  /** Fraction of a second: 1–6 digits. */
  fraction?: string;
}

/** TM `HH[MM[SS[.F{1,6}]]]`, or the ACR-NEMA form `HH:MM[:SS[.F]]`; 60 seconds is a leap second. */
export function parseTime(tm: string): DicomTime | undefined {
  const match =
    /^(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?$/.exec(tm) ??
    /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$/.exec(tm);
  if (!match) {
    return undefined;
  }
  const [hours, minutes, seconds, fraction] = match.slice(1);
  if (Number(hours) > 23 || Number(minutes ?? 0) > 59 || Number(seconds ?? 0) > 60) {
    return undefined;
  }
  return {
    hours: hours!,
    ...(minutes !== undefined ? { minutes } : {}),
    ...(seconds !== undefined ? { seconds } : {}),
    ...(fraction !== undefined ? { fraction } : {}),
  };
}

/** A UTC offset `&ZZXX` (TimezoneOffsetFromUTC, or the suffix of a DT). */
export interface UtcOffset {
  sign: '+' | '-';
  hours: string;
  minutes: string;
}

/** `&ZZXX`, within the range the standard allows: −12:00 … +14:00 (PS3.5 6.2 DT). */
export function parseUtcOffset(offset: string): UtcOffset | undefined {
  const match = /^([+-])(\d{2})(\d{2})$/.exec(offset);
  if (!match) {
    return undefined;
  }
  const [hours, minutes] = [Number(match[2]), Number(match[3])];
  const inRange = minutes <= 59 && (hours <= 13 || (hours === 14 && minutes === 0));
  return inRange ? { sign: match[1] as '+' | '-', hours: match[2]!, minutes: match[3]! } : undefined;
}

/** A DT `YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]`, as its date (when whole), time and offset. */
export interface DicomDateTime {
  date?: DicomDate;
  time?: DicomTime;
  offset?: UtcOffset;
}

export function parseDateTime(dt: string): DicomDateTime | undefined {
  const match = /^(\d{4}(?:\d{2}(?:\d{2})?)?)((?:\d{2}){0,3}(?:\.\d{1,6})?)([+-]\d{4})?$/.exec(dt.trim());
  if (!match) {
    return undefined;
  }
  const [datePart = '', timePart = '', offsetPart] = match.slice(1);
  const date = datePart.length === 8 ? parseDate(datePart) : undefined;
  const time = timePart ? parseTime(timePart) : undefined;
  const offset = offsetPart ? parseUtcOffset(offsetPart) : undefined;
  if ((datePart.length === 8 && !date) || (timePart && (!time || datePart.length !== 8)) || (offsetPart && !offset)) {
    return undefined;
  }
  return { ...(date ? { date } : {}), ...(time ? { time } : {}), ...(offset ? { offset } : {}) };
}

/**
 * DA and TM of an instant, as a writer of DICOM gives them. DICOM dates and times are local: with a
 * TimezoneOffsetFromUTC they are given in that offset, otherwise in the node's local time.
 */
export function formatDateTime(instant: Date, offset?: string): { date: string; time: string } {
  const match = offset ? /^([+-])(\d{2})(\d{2})$/.exec(offset) : null;
  // The wall clock of the offset, or of the node's zone at that instant, read through the UTC getters.
  const offsetMinutes = match
    ? (Number(match[2]) * 60 + Number(match[3])) * (match[1] === '-' ? -1 : 1)
    : -instant.getTimezoneOffset();
  const shifted = new Date(instant.getTime() + offsetMinutes * 60_000);
  const parts = [
    shifted.getUTCFullYear(),
    shifted.getUTCMonth() + 1,
    shifted.getUTCDate(),
    shifted.getUTCHours(),
    shifted.getUTCMinutes(),
    shifted.getUTCSeconds(),
    shifted.getUTCMilliseconds(),
  ];
  const [year, month, day, hours, minutes, seconds, millis] = parts.map((part) => String(part));
  const two = (text: string | undefined) => (text ?? '').padStart(2, '0');
  return {
    date: `${(year ?? '').padStart(4, '0')}${two(month)}${two(day)}`,
    time: `${two(hours)}${two(minutes)}${two(seconds)}.${(millis ?? '').padStart(3, '0')}`,
  };
}

/** The component groups of a PN value in DICOM JSON (PS3.18 F.2.2), in their order. */
export const PERSON_NAME_GROUPS = ['Alphabetic', 'Ideographic', 'Phonetic'] as const;
export type PersonNameGroup = (typeof PERSON_NAME_GROUPS)[number];
export type PersonName = Partial<Record<PersonNameGroup, string>>;

/**
 * A PN value (`alphabetic=ideographic=phonetic`, or a DICOM JSON object) → its non-empty groups;
 * trailing empty components are not significant. Null for an empty name.
 */
export function personNameGroups(value: unknown): PersonName | null {
  let source: Record<string, unknown> = {};
  if (typeof value === 'string') {
    const [alphabetic, ideographic, phonetic] = value.split('=');
    source = { Alphabetic: alphabetic ?? '', Ideographic: ideographic ?? '', Phonetic: phonetic ?? '' };
  } else if (typeof value === 'object' && value !== null) {
    source = { ...value };
  }
  const groups: PersonName = {};
  for (const group of PERSON_NAME_GROUPS) {
    const text = source[group];
    if (typeof text === 'string') {
      const trimmed = text.replace(/[\^ ]+$/, '');
      if (trimmed.length > 0) {
        groups[group] = trimmed;
      }
    }
  }
  return Object.keys(groups).length > 0 ? groups : null;
}

/** The five components of a PN component group, trimmed; empty ones undefined. */
export interface PersonNameComponents {
  family?: string;
  given?: string;
  middle?: string;
  prefix?: string;
  suffix?: string;
}

export function personNameComponents(group: string): PersonNameComponents {
  const [family, given, middle, prefix, suffix] = group.split('^').map((component) => component.trim() || undefined);
  return { family, given, middle, prefix, suffix };
}

/** IS: an integer string, or a JSON number in DICOM JSON; anything else undefined. */
export function parseIntegerString(value: unknown): number | undefined {
  const number =
    typeof value === 'number' ? value : typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(number) ? number : undefined;
}

/** DS (and FD, FL, IS): a JSON number, or numeric text; anything else undefined. */
export function parseDecimalString(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(number) ? number : undefined;
}
