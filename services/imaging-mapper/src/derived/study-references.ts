import type { DicomJson } from '@imaging-facade/dicom';
import { dicomUidIdentifier } from '@imaging-facade/fhir';
import type { Identifier, ImagingStudy, Reference } from '@medplum/fhirtypes';
import { DicomDataset } from '../mapping/mapped-attributes';
import { accessionIdentifier as studyAccessionIdentifier } from '../mapping/imaging-study-mapping';
import { dicomOffsetToFhir, zoneOffsetAt } from '../mapping/dicom-values';

/**
 * How the resources derived from a study (its manifest's DocumentReference, its dose Observations)
 * name the study, its order and the DICOM objects they come from.
 */

/** Identifier types of the Radiation Dose Summary IG (CodeSystem dicom-identifier-type). */
export const DICOM_IDENTIFIER_TYPE_SYSTEM = 'http://hl7.org/fhir/uv/radiation-dose-summary/CodeSystem/dicom-identifier-type';

const OID = /^[0-2](\.(0|[1-9]\d*))+$/;

export function isOid(value: string): boolean {
  return OID.test(value) && value.length <= 64;
}

/** A DICOM UID as an identifier (libs/fhir's rule), typed with the Radiation Dose Summary IG's code. */
export function typedUidIdentifier(
  uid: string,
  type: 'study-instance-uid' | 'sop-instance-uid' | 'irradiation-event-uid' | undefined,
): Identifier {
  const displays = {
    'study-instance-uid': 'Study Instance UID',
    'sop-instance-uid': 'SOP Instance UID',
    'irradiation-event-uid': 'Irradiation Event UID',
  } as const;
  return {
    ...(type ? { type: { coding: [{ system: DICOM_IDENTIFIER_TYPE_SYSTEM, code: type, display: displays[type] }] } } : {}),
    ...dicomUidIdentifier(uid),
  };
}

/**
 * The study's accession number as the ImagingStudy names it (type ACSN, system from the Issuer of
 * Accession Number Sequence), so that the derived resources and the study name the order alike.
 */
export function accessionIdentifier(study: DicomJson, defaultSystem?: string): Identifier | undefined {
  return studyAccessionIdentifier(new DicomDataset(study), defaultSystem);
}

/** A reference to the study's ImagingStudy that also names it by its Study Instance UID. */
export function imagingStudyReference(reference: string, studyInstanceUid: string): Reference<ImagingStudy> {
  return { reference, type: 'ImagingStudy', identifier: typedUidIdentifier(studyInstanceUid, 'study-instance-uid') };
}

/**
 * DICOM DT `YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]` → FHIR dateTime. A time needs a zone in FHIR:
 * the DT's own offset, else `defaultOffset` (the study's TimezoneOffsetFromUTC, `+hhmm`), else the
 * node's `timeZone` (unless `defaultOffset` is there but written wrong), else the date alone. Not a
 * valid DT → undefined.
 */
export function dicomDateTimeToFhir(dt: string | undefined, defaultOffset?: string, timeZone?: string): string | undefined {
  const match = dt ? /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?$/.exec(dt.trim()) : null;
  if (!match) {
    return undefined;
  }
  const [, year, month, day, hours, minutes, seconds, fraction, ownOffset] = match;
  if ((month && (Number(month) < 1 || Number(month) > 12)) || (day && (Number(day) < 1 || Number(day) > 31))) {
    return undefined;
  }
  if (hours && (Number(hours) > 23 || Number(minutes ?? 0) > 59 || Number(seconds ?? 0) > 60)) {
    return undefined;
  }
  const date = [year, month, day].filter(Boolean).join('-');
  // The DT's own offset, else the study's; one written wrong (`0100`, `+1500`) says the zone is not
  // known: neither it nor the node's is used.
  const given = ownOffset ?? (defaultOffset?.trim() || undefined);
  const offset = given === undefined ? undefined : dicomOffsetToFhir(given);
  const zoneKnown = given === undefined || offset !== undefined;
  if (!hours || !day) {
    return date;
  }
  const time = `${hours}:${minutes ?? '00'}:${seconds ?? '00'}`;
  // No offset anywhere: local time of the node's zone (FACADE_TIME_ZONE), as for ImagingStudy.started.
  const zone = offset ?? (timeZone && zoneKnown ? zoneOffsetAt(timeZone, date, time) : undefined);
  return zone ? `${date}T${time}${fraction ?? ''}${zone}` : date;
}
