import { tagOf, textAt, type DicomAttribute, type DicomJson } from '@imaging-facade/dicom';

/**
 * The attributes of a study or a series, from the instances it holds: the newest instance's, with
 * what that one leaves empty taken from the instances before it, the newest that has it. A series a
 * workstation derives later, or a dose report sent last, often lacks the Study Description or the
 * Referring Physician the modality's images carried; the newest instance alone lost them in QIDO,
 * the manifest and the ImagingStudy (found by a DICOMweb review, 2026-12-07).
 *
 * Identifiers are never put together from parts of different instances: the patient's identifiers
 * always come whole from the newest instance, and an instance filed under another patient (another
 * Patient ID, or another issuer) gives nothing to the others. Attributes that only make sense
 * together (an accession number and its issuer, a date and its time) are taken together, from one
 * instance. Which instance counts as newest is the caller's choice (see `buildSnapshot`).
 */

const ALWAYS_FROM_NEWEST = new Set(
  ['SpecificCharacterSet', 'PatientID', 'IssuerOfPatientID', 'IssuerOfPatientIDQualifiersSequence', 'OtherPatientIDsSequence'].map(tagOf),
);

const TAKEN_TOGETHER: readonly (readonly string[])[] = [
  ['AccessionNumber', 'IssuerOfAccessionNumberSequence'],
  ['StudyDate', 'StudyTime', 'TimezoneOffsetFromUTC'],
  ['SeriesDate', 'SeriesTime'],
  ['InstitutionName', 'InstitutionCodeSequence'],
  ['ReasonForRequestedProcedureCodeSequence', 'ReasonForTheRequestedProcedure'],
].map((keywords) => keywords.map(tagOf));

const PATIENT_ID = tagOf('PatientID');
const ISSUER_OF_PATIENT_ID = tagOf('IssuerOfPatientID');

/** A value a reader can use: an empty attribute (type 2, no Value) or empty text does not count. */
function hasValue(attribute: DicomAttribute | undefined): boolean {
  if (attribute === undefined) {
    return false;
  }
  if (attribute.InlineBinary !== undefined || attribute.BulkDataURI !== undefined) {
    return true;
  }
  return (attribute.Value ?? []).some((value) => value !== null && value !== '');
}

/**
 * Whether two instances may be of one patient: the same Patient ID, and the same issuer or an issuer
 * only one of them names (a dose report from another system often leaves it out).
 */
export function maySharePatient(one: DicomJson, other: DicomJson): boolean {
  const [issuer, otherIssuer] = [textAt(one, ISSUER_OF_PATIENT_ID), textAt(other, ISSUER_OF_PATIENT_ID)];
  return textAt(one, PATIENT_ID) === textAt(other, PATIENT_ID) && (issuer === otherIssuer || issuer === undefined || otherIssuer === undefined);
}

/**
 * The groups of tags filled as one: those of TAKEN_TOGETHER, and every other tag alone. A group is
 * missing when its first tag is (a time zone offset without a study date still lacks the date).
 */
function fillGroupsOf(tags: Iterable<string>): string[][] {
  const grouped = new Set(TAKEN_TOGETHER.flat());
  const groups = TAKEN_TOGETHER.map((group) => [...group]);
  for (const tag of tags) {
    if (!grouped.has(tag) && !ALWAYS_FROM_NEWEST.has(tag)) {
      groups.push([tag]);
    }
  }
  return groups;
}

/**
 * `newestFirst[0]`'s attributes, each group it leaves empty filled from the first of the others that
 * has a value in it. The caller passes only instances the study holds (not ones replaced by a re-send)
 * and that may be of the newest's patient (see `maySharePatient`).
 */
export function supplementedAttributes(newestFirst: readonly DicomJson[]): DicomJson {
  // The lines of a study share their attribute objects when equal (SharedAttributes): each is looked at once.
  const [newest, ...older] = new Set(newestFirst);
  if (newest === undefined) {
    return {};
  }
  const result: DicomJson = { ...newest };
  const tags = new Set([newest, ...older].flatMap((attributes) => Object.keys(attributes)));
  for (const group of fillGroupsOf(tags)) {
    const [anchor] = group as [string, ...string[]];
    if (hasValue(newest[anchor])) {
      continue;
    }
    const source = older.find((attributes) => hasValue(attributes[anchor]));
    // The whole group from that one instance: a date with its own time and offset, never another's.
    for (const tag of source ? group : []) {
      const attribute = source?.[tag];
      if (attribute !== undefined) {
        result[tag] = attribute;
      } else {
        delete result[tag];
      }
    }
  }
  return result;
}
