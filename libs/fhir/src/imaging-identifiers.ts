import type { Coding, Identifier } from '@medplum/fhirtypes';

/**
 * How the node names a study in FHIR, in one place for every writer and reader (the mapper, the
 * consent desk, the access rule, the faces): a DICOM UID is an Identifier with system
 * `urn:dicom:uid` and value `urn:oid:<uid>` (FHIR R4's ImagingStudy.identifier guidance); the
 * accession number is an Identifier typed `ACSN` (HL7 v2 table 0203), as R4 asks. Pure functions.
 */

export const DICOM_UID_SYSTEM = 'urn:dicom:uid';
export const V2_0203_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v2-0203';
/** Identifier type "Accession ID". */
export const ACCESSION_NUMBER_TYPE: Coding = { system: V2_0203_SYSTEM, code: 'ACSN', display: 'Accession ID' };

const OID_URN_PREFIX = 'urn:oid:';

/** The shape of an identifier as found in any resource (read loosely: a reader must not trust what it reads). */
export interface IdentifierLike {
  system?: string | undefined;
  value?: string | undefined;
  type?: { coding?: Array<{ system?: string | undefined; code?: string | undefined }> | undefined } | undefined;
}

/** A DICOM UID (Study, Series, SOP Instance, Irradiation Event…) as an Identifier. */
export function dicomUidIdentifier(uid: string): Identifier {
  return { system: DICOM_UID_SYSTEM, value: `${OID_URN_PREFIX}${uid}` };
}

export interface AccessionNumberOptions {
  /** Who assigned it, by name (DICOM's Local Namespace Entity ID). */
  assigner?: string | undefined;
  /**
   * Leave the coding's display out: the consent desk has always written its Consents' study
   * references so, and new ones stay like the stored ones.
   */
  withoutDisplay?: boolean;
}

/** An accession number, typed ACSN; `system` is the issuer's namespace when there is one. */
export function accessionNumberIdentifier(value: string, system?: string, options: AccessionNumberOptions = {}): Identifier {
  const { display: _display, ...bare } = ACCESSION_NUMBER_TYPE;
  return {
    type: { coding: [options.withoutDisplay ? bare : { ...ACCESSION_NUMBER_TYPE }] },
    ...(system ? { system } : {}),
    value,
    ...(options.assigner ? { assigner: { display: options.assigner } } : {}),
  };
}

/** The UID an identifier names, when it is a DICOM UID identifier; otherwise undefined. */
export function dicomUidOf(identifier: IdentifierLike | undefined): string | undefined {
  if (identifier?.system !== DICOM_UID_SYSTEM || !identifier.value?.startsWith(OID_URN_PREFIX)) {
    return undefined;
  }
  return identifier.value.slice(OID_URN_PREFIX.length);
}

/** The accession number an identifier holds, when it is typed ACSN (whoever wrote the coding's system); otherwise undefined. */
export function accessionNumberOf(identifier: IdentifierLike | undefined): string | undefined {
  const typed = identifier?.type?.coding?.some((coding) => coding.code === ACCESSION_NUMBER_TYPE.code) ?? false;
  return typed && identifier?.value ? identifier.value : undefined;
}

/** Who a study is, as an ImagingStudy names it. */
export interface StudyIdentity {
  studyInstanceUid: string;
  accessionNumber?: string | undefined;
}

/** The Study Instance UID and the accession number of an ImagingStudy; undefined without a UID. */
export function studyIdentityOf(imagingStudy: object): StudyIdentity | undefined {
  const listed = (imagingStudy as { identifier?: unknown }).identifier;
  const identifiers = Array.isArray(listed) ? (listed as IdentifierLike[]) : [];
  const studyInstanceUid = identifiers.map(dicomUidOf).find((uid) => uid !== undefined);
  if (studyInstanceUid === undefined) {
    return undefined;
  }
  return { studyInstanceUid, accessionNumber: identifiers.map(accessionNumberOf).find((value) => value !== undefined) };
}
