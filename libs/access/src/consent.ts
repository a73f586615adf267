import type { PatientIdentifier } from '@imaging-facade/events';
import { identifiersOfPatient } from '@imaging-facade/consent';
import { patientsOf, referencedId, type AnyResource } from './compartment';
import { dicomUidOf, studyIdentityOf, type IdentifierLike } from '@imaging-facade/fhir';
import { onceEach } from './once-each';

/**
 * Consent on reads, as defence in depth: the mapper removes what a patient refused from the FHIR
 * server, and the gateway still filters every answer, so that nothing refused is shown in between
 * (or ever, if a deletion failed). A study, and what derives from it, is withheld when the
 * patient's decisions withhold that study; anything else of a patient is withheld when the
 * patient-wide decision is a refusal, their record (the Patient) unless they agreed to a study on
 * its own (libs/consent `withholdsRecord`).
 */

export type Sharing = 'share' | 'withhold';

/** A study as consent decisions name it. */
export interface StudyKey {
  studyInstanceUid: string;
  accessionNumber?: string | undefined;
}

/** The consent decisions in force (libs/consent's ConsentView, seen through the gateway's needs). */
export interface ConsentRules {
  /** False when nothing at all can be withheld (no decision known, a sharing policy): answers skip every look-up. */
  mayWithhold(): boolean;
  /** The patient-wide decision over any of the patient's identifiers: a refusal withholds what is theirs without being one study's. */
  patientSharing(patient: readonly PatientIdentifier[]): Sharing;
  /** Their record (the Patient resource): withheld on a patient-wide refusal unless a study agreed on its own is shown with it. */
  recordSharing(patient: readonly PatientIdentifier[]): Sharing;
  /** Whether one of the patient's studies may be shown. */
  studySharing(patient: readonly PatientIdentifier[], study: StudyKey): Sharing;
}

/** What consent decisions need and a resource does not always hold: asked of the FHIR server, remembered. */
export interface ConsentLookups {
  /** The identifiers of Patient/`id` (empty when the patient does not exist). */
  patientIdentifiers(id: string): Promise<PatientIdentifier[]>;
  /** The study of ImagingStudy/`id` (undefined when it does not exist). */
  study(id: string): Promise<StudyKey | undefined>;
}


/** The study an ImagingStudy is: its StudyInstanceUID and its accession number (libs/fhir's imaging identifier rule). */
export function studyKeyOf(imagingStudy: AnyResource): StudyKey | undefined {
  return studyIdentityOf(imagingStudy);
}

/**
 * The studies a resource derives from: ImagingStudy references in Observation.partOf /
 * derivedFrom and DocumentReference.context.related (as ids), or a study UID given as identifier.
 */
export function studyLinksOf(resource: AnyResource): { ids: string[]; keys: StudyKey[] } {
  const references: Array<{ reference?: string; type?: string; identifier?: IdentifierLike }> = [];
  if (resource.resourceType === 'Observation') {
    references.push(...((resource.partOf as typeof references | undefined) ?? []), ...((resource.derivedFrom as typeof references | undefined) ?? []));
  } else if (resource.resourceType === 'DocumentReference') {
    references.push(...(((resource.context as { related?: typeof references } | undefined)?.related) ?? []));
  }
  const ids: string[] = [];
  const keys: StudyKey[] = [];
  for (const reference of references) {
    const id = referencedId(reference.reference, 'ImagingStudy');
    if (id) {
      ids.push(id);
    } else if (reference.type === undefined || reference.type === 'ImagingStudy') {
      // A logical reference names a study only when it says so, or says nothing: the cumulative dose
      // derives from other Observations, named by their own `urn:dicom:uid` identifiers.
      const studyInstanceUid = dicomUidOf(reference.identifier);
      if (studyInstanceUid !== undefined) {
        keys.push({ studyInstanceUid });
      }
    }
  }
  return { ids, keys };
}

/**
 * Whether a resource that derives from studies shows the elements that name them: every dose
 * Observation has `partOf` (a study) or `derivedFrom` (the cumulative dose), every manifest
 * `context.related`. One without them was narrowed (`_elements`), and nothing then says which
 * studies it belongs to: it is withheld wherever a study could be.
 */
export function showsStudyLinks(resource: AnyResource): boolean {
  if (resource.resourceType === 'Observation') {
    return resource.partOf !== undefined || resource.derivedFrom !== undefined;
  }
  if (resource.resourceType === 'DocumentReference') {
    return (resource.context as { related?: unknown } | undefined)?.related !== undefined;
  }
  return true;
}

/**
 * The consent rule for one patient's data: what derives from studies is shared when every one of
 * those studies is; anything else when the patient-wide decision shares. A decision about the study
 * beats the patient-wide one (libs/consent's precedence). The FHIR face and the DICOMweb face both
 * decide with this function.
 */
export function consentShares(rules: ConsentRules, patient: readonly PatientIdentifier[], studies: readonly StudyKey[]): boolean {
  const sharing = studies.length > 0 ? studies.map((study) => rules.studySharing(patient, study)) : [rules.patientSharing(patient)];
  return !sharing.includes('withhold');
}

/**
 * For each resource, whether consent lets it be shown. Patients and studies present in the same
 * answer are used before anything is looked up.
 */
export async function consentAllows(resources: readonly AnyResource[], rules: ConsentRules, lookups: ConsentLookups): Promise<boolean[]> {
  if (!rules.mayWithhold()) {
    return resources.map(() => true);
  }
  const known = new Map<string, Promise<PatientIdentifier[]>>();
  const knownStudies = new Map<string, Promise<StudyKey | undefined>>();
  // What the answer holds is used only where it says something: a client may have narrowed it
  // (`_elements`), and a Patient without identifiers or a study without its UID is looked up.
  for (const resource of resources) {
    if (resource.resourceType === 'Patient' && resource.id && identifiersOfPatient(resource).length > 0) {
      known.set(resource.id, Promise.resolve(identifiersOfPatient(resource)));
    } else if (resource.resourceType === 'ImagingStudy' && resource.id && studyKeyOf(resource) !== undefined) {
      knownStudies.set(resource.id, Promise.resolve(studyKeyOf(resource)));
    }
  }
  const identifiersOf = onceEach((id) => lookups.patientIdentifiers(id), known);
  const studyOf = onceEach((id) => lookups.study(id), knownStudies);

  return Promise.all(
    resources.map(async (resource) => {
      const patients = patientsOf(resource);
      if (patients === undefined) {
        return true;
      }
      if (patients.length === 0) {
        // In the Patient compartment but naming no patient (a narrowed answer): nothing says it may be shown.
        return false;
      }
      for (const patientId of patients) {
        const identifiers = await identifiersOf(patientId);
        if (resource.resourceType === 'Patient') {
          if (rules.recordSharing(identifiers) === 'withhold') {
            return false;
          }
          continue;
        }
        if (!showsStudyLinks(resource)) {
          return false;
        }
        const studies: StudyKey[] = [];
        if (resource.resourceType === 'ImagingStudy') {
          const key = studyKeyOf(resource) ?? (resource.id ? await studyOf(resource.id) : undefined);
          if (key) {
            studies.push(key);
          }
        } else {
          const links = studyLinksOf(resource);
          studies.push(...links.keys);
          for (const id of links.ids) {
            const key = await studyOf(id);
            if (key) {
              studies.push(key);
            }
          }
        }
        if (!consentShares(rules, identifiers, studies)) {
          return false;
        }
      }
      return true;
    }),
  );
}
