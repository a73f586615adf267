import {
  parseDate,
  parseIntegerString,
  parseTime,
  parseUtcOffset,
  PERSON_NAME_GROUPS,
  personNameComponents,
} from '@imaging-facade/dicom';
import type { Extension, HumanName } from '@medplum/fhirtypes';

/**
 * Conversions of DICOM value representations (PS3.5 6.2, parsed by libs/dicom) to FHIR R4
 * datatypes. Each one returns undefined for a value it cannot convert faithfully, so that the
 * caller leaves the element out.
 */

/** DA `YYYYMMDD` → FHIR date `YYYY-MM-DD`; only real calendar dates. */
export function dicomDateToFhir(da: string): string | undefined {
  const date = parseDate(da);
  return date ? `${date.year}-${date.month}-${date.day}` : undefined;
}

/**
 * TM `HH[MM[SS[.F{1,6}]]]` (or the ACR-NEMA `HH:MM[:SS[.F]]`) → FHIR time `hh:mm:ss[.f]`: FHIR
 * wants the seconds, so missing minutes and seconds are zero.
 */
export function dicomTimeToFhir(tm: string): string | undefined {
  const time = parseTime(tm);
  if (!time) {
    return undefined;
  }
  const { hours, minutes = '00', seconds = '00', fraction } = time;
  return `${hours}:${minutes}:${seconds}${fraction ? `.${fraction}` : ''}`;
}

/** TimezoneOffsetFromUTC `&ZZXX` → FHIR offset `±hh:mm`, within the range a FHIR dateTime allows. */
export function dicomOffsetToFhir(offset: string): string | undefined {
  const parsed = parseUtcOffset(offset);
  return parsed ? `${parsed.sign}${parsed.hours}:${parsed.minutes}` : undefined;
}

/**
 * StudyDate + StudyTime + TimezoneOffsetFromUTC → FHIR dateTime. A FHIR dateTime with a time must
 * carry a zone. A DICOM time without an offset is local time of the modality: in the node's time
 * zone (`timeZone`, IANA) it gets the offset that zone had then; without one there is no zone we
 * could honestly give, and the result is the date alone.
 */
export function fhirDateTime(date: string, time?: string, offset?: string, timeZone?: string): string {
  if (!time) {
    return date;
  }
  const zone = offset ?? (timeZone ? zoneOffsetAt(timeZone, date, time) : undefined);
  return zone ? `${date}T${time}${zone}` : date;
}

/**
 * The UTC offset (`±hh:mm`) a time zone had at a local date and time: the offset of the instant
 * that wall-clock time names there (in the hour a clock skips or repeats, one of its two offsets).
 */
export function zoneOffsetAt(timeZone: string, date: string, time: string): string | undefined {
  const wall = Date.parse(`${date}T${time.slice(0, 8)}Z`);
  if (Number.isNaN(wall)) {
    return undefined;
  }
  const offsetMinutesAt = (instant: number): number => {
    const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
      .formatToParts(new Date(instant))
      .find((part) => part.type === 'timeZoneName')?.value;
    const match = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name ?? '');
    return match ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
  };
  // The instant is the wall time minus the offset in force then, which the wall time, read as UTC, gives closely enough.
  const minutes = offsetMinutesAt(wall - offsetMinutesAt(wall) * 60_000);
  const sign = minutes < 0 ? '-' : '+';
  const absolute = Math.abs(minutes);
  return `${sign}${String(Math.floor(absolute / 60)).padStart(2, '0')}:${String(absolute % 60).padStart(2, '0')}`;
}

const REPRESENTATION_URL = 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation';

/** How FHIR marks each component group of a PN value (PS3.18 F.2.2). */
const REPRESENTATIONS = { Alphabetic: undefined, Ideographic: 'IDE', Phonetic: 'SYL' } as const;

/**
 * PN → HumanName, one per non-empty component group. `family^given^middle^prefix^suffix`: given and
 * middle become `given`. The ideographic and phonetic groups are marked with the core extension
 * iso21090-EN-representation (IDE, SYL), as FHIR recommends for CJK names.
 */
export function personNameToFhir(value: unknown): HumanName[] {
  const groups: Record<string, unknown> = typeof value === 'string' ? { Alphabetic: value } : asRecord(value);
  const names: HumanName[] = [];
  for (const group of PERSON_NAME_GROUPS) {
    const representation = REPRESENTATIONS[group];
    const text = groups[group];
    const name = typeof text === 'string' ? componentsToName(text) : undefined;
    if (name) {
      const extension: Extension[] | undefined = representation
        ? [{ url: REPRESENTATION_URL, valueCode: representation }]
        : undefined;
      names.push(extension ? { extension, ...name } : name);
    }
  }
  return names;
}

/**
 * PN → the text of a display-only reference ("Jane Doe", "Dr Jane Doe Jr"): the alphabetic group
 * in Western order (prefix given middle family suffix); a name with only ideographic or phonetic
 * groups keeps their family-first order ("山田 太郎"). Undefined for an empty name.
 */
export function personNameDisplay(value: unknown): string | undefined {
  const groups: Record<string, unknown> = typeof value === 'string' ? { Alphabetic: value } : asRecord(value);
  for (const group of PERSON_NAME_GROUPS) {
    const text = groups[group];
    if (typeof text !== 'string') {
      continue;
    }
    const { family, given, middle, prefix, suffix } = personNameComponents(text);
    const order =
      group === 'Alphabetic' ? [prefix, given, middle, family, suffix] : [family, given, middle, prefix, suffix];
    const display = order.filter((part): part is string => Boolean(part)).join(' ');
    if (display) {
      return display;
    }
  }
  return undefined;
}

function componentsToName(text: string): HumanName | undefined {
  const { family, given, middle, prefix, suffix } = personNameComponents(text);
  const name: HumanName = {};
  if (family) {
    name.family = family;
  }
  const givens = [given, middle].filter((part): part is string => Boolean(part));
  if (givens.length > 0) {
    name.given = givens;
  }
  if (prefix) {
    name.prefix = [prefix];
  }
  if (suffix) {
    name.suffix = [suffix];
  }
  return Object.keys(name).length > 0 ? name : undefined;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** IS (an integer string, or a JSON number in DICOM JSON) → a FHIR unsignedInt (0 … 2^31−1). */
export function dicomIntegerToUnsignedInt(value: unknown): number | undefined {
  const number = parseIntegerString(value);
  return number !== undefined && number >= 0 && number <= 2 ** 31 - 1 ? number : undefined;
}

/** CS Modality → the code of a DCM coding: 1–16 upper-case letters, digits, `_` (PS3.5 6.2 CS). */
export function modalityCode(value: string): string | undefined {
  const code = value.toUpperCase();
  return /^[A-Z0-9_]{1,16}$/.test(code) ? code : undefined;
}
