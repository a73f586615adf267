import type { StudyCompletedV1Data, StudyManifest } from '@imaging-facade/events';
import type { Coding, DocumentReference, Identifier, ImagingStudy, Organization, Patient, Reference } from '@medplum/fhirtypes';
import { nameBasedUuid } from '@imaging-facade/fhir';
import { codeOf, itemsAt, tagsOf, textAt, type DicomJson } from '@imaging-facade/dicom';
import { fhirCoding, LOINC_SYSTEM } from './coded-entries';
import type { NodeSettings } from '../node-settings';
import { accessionIdentifier } from './study-references';

const TAG = tagsOf([
  'StudyDescription',
  'ProcedureCodeSequence',
  'OtherPatientIDsSequence',
  'PatientID',
  'IssuerOfPatientID',
  'IssuerOfPatientIDQualifiersSequence',
  'UniversalEntityID',
]);

/**
 * The node's manifest of a study (the Key Object Selection document the ingest stores with it) as
 * the DocumentReference that IHE MHD-I and RAD MADO publish for a DICOM KOS manifest: one per study
 * and node, updated in place as the study grows (its `identifier` is stable; its `masterIdentifier`
 * is the current KOS). With the French profile, the codes of the DMP / DRIMbox (type IMG-KOS,
 * class 31) are added and the patient's INS is given as the source patient.
 */

export const KOS_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.88.59';
export const KOS_FORMAT: Coding = {
  system: 'http://dicom.nema.org/resources/ontology/DCMUID',
  code: KOS_SOP_CLASS,
  display: 'Key Object Selection Document',
};
export const DIAGNOSTIC_IMAGING_STUDY: Coding = { system: LOINC_SYSTEM, code: '18748-4', display: 'Diagnostic imaging study' };
export const RADIOLOGY_STUDIES_CLASS: Coding = { system: LOINC_SYSTEM, code: '18726-0', display: 'Radiology studies (set)' };
export const RADIOLOGY_PRACTICE: Coding = { system: 'http://snomed.info/sct', code: '394914008', display: 'Radiology' };
/** France: TRE_A05-TypeDocComplementaireCISIS and TRE_A03-ClasseDocument (ANS). */
export const FR_TYPE_IMG_KOS: Coding = { system: 'urn:oid:1.2.250.1.213.1.1.4.12', code: 'IMG-KOS', display: "Reference d'objets d'un examen d'imagerie" };
export const FR_CLASS_IMAGING: Coding = { system: 'urn:oid:1.2.250.1.213.1.1.4.1', code: '31', display: 'Imagerie médicale' };
/** France: the INS (Identifiant National de Santé) namespaces: NIR, NIA, and their test ranges. */
export const INS_OIDS: ReadonlySet<string> = new Set(['1.2.250.1.213.1.4.8', '1.2.250.1.213.1.4.9', '1.2.250.1.213.1.4.10', '1.2.250.1.213.1.4.11']);

const ORGANIZATION_ID = 'manifest-organization';
const SOURCE_PATIENT_ID = 'source-patient';

/** The DocumentReference's stable identity: an entryUUID per node and study (MHD `identifier`, use official). */
export function manifestEntryIdentifier(settings: Pick<NodeSettings, 'nodeUid'>, studyInstanceUid: string): Identifier {
  return {
    use: 'official',
    system: 'urn:ietf:rfc:3986',
    value: `urn:uuid:${nameBasedUuid(`urn:imaging-facade:study-manifest:${settings.nodeUid}:${studyInstanceUid}`)}`,
  };
}

/** The WADO-RS URL of the manifest instance on the node's DICOMweb base. */
export function manifestUrl(base: string, studyInstanceUid: string, manifest: StudyManifest): string {
  return `${base}/studies/${studyInstanceUid}/series/${manifest.seriesInstanceUid}/instances/${manifest.sopInstanceUid}`;
}

export interface ManifestContext {
  data: StudyCompletedV1Data;
  manifest: StudyManifest;
  subject: Reference<Patient>;
  /** The study's ImagingStudy, named by its Study Instance UID too. */
  study: Reference<ImagingStudy>;
  /** ImagingStudy.started. */
  started?: string;
  /** ImagingStudy.modality. */
  modalities: readonly Coding[];
  settings: NodeSettings;
  /** FACADE_ACCESSION_NUMBER_SYSTEM: the system of an accession number without an issuer. */
  accessionNumberSystem?: string | undefined;
  /** The source patient (name, birth date, sex) for the French profile, mapped as the Patient is. */
  sourcePatient?: (study: DicomJson) => Patient;
}

export interface ManifestMapping {
  documentReference: DocumentReference;
  notes: string[];
}

export function manifestDocumentReference(context: ManifestContext): ManifestMapping {
  const { data, manifest, settings } = context;
  const notes: string[] = [];
  const france = settings.nationalProfile === 'fr';
  const masterIdentifier: Identifier = { system: 'urn:ietf:rfc:3986', value: `urn:oid:${manifest.sopInstanceUid}` };
  const accession = accessionIdentifier(data.study, context.accessionNumberSystem);
  const organization: Organization = {
    resourceType: 'Organization',
    id: ORGANIZATION_ID,
    identifier: [{ system: settings.organization.system, value: settings.organization.value }],
    name: settings.organization.name,
  };
  const contained: DocumentReference['contained'] = [organization];

  let sourcePatientInfo: Reference<Patient> | undefined;
  if (france) {
    const ins = insOf(data.study);
    if (ins) {
      const patient: Patient = {
        ...(context.sourcePatient?.(data.study) ?? { resourceType: 'Patient' }),
        id: SOURCE_PATIENT_ID,
        identifier: [{ use: 'official', system: `urn:oid:${ins.oid}`, value: ins.value }],
      };
      contained.push(patient);
      sourcePatientInfo = { reference: `#${SOURCE_PATIENT_ID}` };
    } else {
      notes.push('no INS among the patient identifiers: the manifest has no source patient');
    }
  }

  const description = textAt(data.study, TAG.StudyDescription);
  const documentReference: DocumentReference = {
    resourceType: 'DocumentReference',
    contained,
    masterIdentifier,
    identifier: [manifestEntryIdentifier(settings, data.studyInstanceUid), { use: 'usual', ...masterIdentifier }],
    status: 'current',
    type: { coding: [procedureType(data.study) ?? DIAGNOSTIC_IMAGING_STUDY, ...(france ? [FR_TYPE_IMG_KOS] : [])] },
    category: [{ coding: [RADIOLOGY_STUDIES_CLASS, ...(france ? [FR_CLASS_IMAGING] : [])] }],
    subject: context.subject,
    date: instant(context.started) ?? manifest.createdAt,
    author: [{ reference: `#${ORGANIZATION_ID}` }],
    custodian: { reference: `#${ORGANIZATION_ID}` },
    ...(description ? { description } : {}),
    content: [
      {
        attachment: {
          contentType: 'application/dicom',
          url: manifestUrl(settings.dicomWebBaseUrl, data.studyInstanceUid, manifest),
          title: 'Manifest',
          creation: manifest.createdAt,
        },
        format: KOS_FORMAT,
      },
    ],
    context: {
      ...(context.modalities.length > 0 ? { event: context.modalities.map((coding) => ({ coding: [coding] })) } : {}),
      ...(context.started ? { period: { start: context.started } } : {}),
      practiceSetting: { coding: [RADIOLOGY_PRACTICE] },
      ...(sourcePatientInfo ? { sourcePatientInfo } : {}),
      related: [context.study, ...(accession ? [{ identifier: accession }] : [])],
    },
  };
  return { documentReference, notes };
}

/** A LOINC code of the study's Procedure Code Sequence (e.g. a LOINC/RSNA Radiology Playbook code), if any. */
function procedureType(study: DicomJson): Coding | undefined {
  for (const item of itemsAt(study, TAG.ProcedureCodeSequence)) {
    const code = codeOf(item);
    if (code && code.scheme.toUpperCase() === 'LN') {
      return fhirCoding(code);
    }
  }
  return undefined;
}

/** A FHIR dateTime that is a full instant (with seconds and a zone), else undefined. */
function instant(dateTime: string | undefined): string | undefined {
  return dateTime && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(dateTime) ? dateTime : undefined;
}

/**
 * The patient's INS: the Patient ID (0010,0020) or an Other Patient IDs Sequence (0010,1002) item
 * whose issuer — Issuer of Patient ID (0010,0021) or the Universal Entity ID of its qualifiers
 * (0010,0024) — is one of the INS namespaces.
 */
export function insOf(study: DicomJson): { oid: string; value: string } | undefined {
  for (const candidate of [study, ...itemsAt(study, TAG.OtherPatientIDsSequence)]) {
    const value = textAt(candidate, TAG.PatientID);
    const issuers = [textAt(candidate, TAG.IssuerOfPatientID), textAt(itemsAt(candidate, TAG.IssuerOfPatientIDQualifiersSequence)[0], TAG.UniversalEntityID)];
    const oid = issuers.find((issuer): issuer is string => issuer !== undefined && INS_OIDS.has(issuer));
    if (value && oid) {
      return { oid, value };
    }
  }
  return undefined;
}

/** Rows for the README: DocumentReference element → rule. */
export const DOCUMENT_REFERENCE_ROWS: ReadonlyArray<{ source: string; fhir: string; rule: string }> = [
  { source: 'manifest SOP Instance UID', fhir: 'DocumentReference.masterIdentifier', rule: '`{system: urn:ietf:rfc:3986, value: urn:oid:<KOS SOP Instance UID>}`; repeated in `identifier` (use usual), as MADO asks' },
  { source: 'node + StudyInstanceUID', fhir: 'DocumentReference.identifier', rule: '`{use: official, system: urn:ietf:rfc:3986, value: urn:uuid:<name-based UUID of node UID and study>}`: the stable identity (MHD entryUUID) the DocumentReference is found and updated by' },
  { source: '—', fhir: 'DocumentReference.status', rule: '`current`' },
  { source: 'ProcedureCodeSequence', fhir: 'DocumentReference.type', rule: 'a LOINC (`LN`) procedure code when the study has one, else `LOINC 18748-4 "Diagnostic imaging study"`; `fr`: + `IMG-KOS` (urn:oid:1.2.250.1.213.1.1.4.12)' },
  { source: '—', fhir: 'DocumentReference.category', rule: '`LOINC 18726-0 "Radiology studies (set)"` (XDS classCode); `fr`: + `31 "Imagerie médicale"` (urn:oid:1.2.250.1.213.1.1.4.1)' },
  { source: '(derived)', fhir: 'DocumentReference.subject', rule: 'the ImagingStudy\'s subject' },
  { source: 'StudyDate + StudyTime + TimezoneOffsetFromUTC', fhir: 'DocumentReference.date', rule: 'ImagingStudy.started when it is a full instant, else the manifest\'s creation time' },
  { source: 'FACADE_ORGANIZATION_*', fhir: 'DocumentReference.author, .custodian', rule: 'a contained Organization (identifier and name from configuration)' },
  { source: 'StudyDescription', fhir: 'DocumentReference.description', rule: 'as is' },
  { source: 'manifest', fhir: 'DocumentReference.content.attachment', rule: '`contentType: application/dicom`, `url: <FACADE_DICOMWEB_BASE_URL>/studies/<study>/series/<manifest series>/instances/<manifest>` (WADO-RS), `title: Manifest`, `creation`: when the manifest was made' },
  { source: '—', fhir: 'DocumentReference.content.format', rule: '`http://dicom.nema.org/resources/ontology/DCMUID#1.2.840.10008.5.1.4.1.1.88.59`' },
  { source: 'Modality (series)', fhir: 'DocumentReference.context.event', rule: 'the ImagingStudy\'s modalities (DCM codes), as XDS-I.b eventCodeList' },
  { source: 'StudyDate + StudyTime', fhir: 'DocumentReference.context.period.start', rule: 'ImagingStudy.started' },
  { source: '—', fhir: 'DocumentReference.context.practiceSetting', rule: '`SNOMED CT 394914008 "Radiology"`' },
  { source: 'StudyInstanceUID', fhir: 'DocumentReference.context.related', rule: 'the ImagingStudy: `{reference, identifier: {type: study-instance-uid, system: urn:dicom:uid, value: urn:oid:<uid>}}`' },
  { source: 'AccessionNumber + IssuerOfAccessionNumberSequence', fhir: 'DocumentReference.context.related', rule: '`{identifier: <the ACSN identifier of the ImagingStudy>}`' },
  { source: 'PatientID / OtherPatientIDsSequence with an INS issuer', fhir: 'DocumentReference.context.sourcePatientInfo', rule: '`fr` only: a contained Patient with the INS (`urn:oid:1.2.250.1.213.1.4.8` NIR, `.9` NIA, `.10`/`.11` test) as its official identifier, name, birth date and sex as for the Patient' },
];

