import type { PatientIdentifier } from '@imaging-facade/events';
import { parsePatientKey } from '@imaging-facade/events';
import type { IndexWriter } from './consent/consent-gate';
import { withdrawStudy } from './consent/withdrawal';
import { hasDoseReport, updateCumulativeDose, type CumulativeDoseOutcome, type CumulativeDosePort } from './derived/cumulative-dose-update';
import { findByIdentifier, type FhirPort } from './fhir/fhir-lookups';
import { dicomUidIdentifier } from '@imaging-facade/fhir';
import { mapStudySnapshot, type MapperSettings } from './pipeline';

/**
 * What the consent gate does to the index: publish a study (its transaction), or withdraw it; then,
 * in both cases, the patient's cumulative dose is computed again from what the server holds, so a
 * refused study stops counting as soon as it is withdrawn. A failure of that second step fails the
 * whole call, which is retried (at-least-once): both steps are idempotent.
 */
export function indexWriter(fhir: CumulativeDosePort, settings: MapperSettings): IndexWriter {
  return {
    async publish(snapshot) {
      const mapping = await mapStudySnapshot(snapshot, fhir, settings);
      if (mapping.removedFrom) {
        // Every instance rejected: the study's dose Observations went with it.
        return { ...mapping, cumulativeDose: await updateCumulativeDose(fhir, mapping.removedFrom) };
      }
      // A rejected dose report's values left the index: the sums change even without a report left.
      if (!hasDoseReport(snapshot) && !mapping.derived.observationsDeleted) {
        return mapping;
      }
      // A study moved to another patient (its issuer corrected the Patient ID) stops counting for
      // the one it was filed under: their sums are computed again too.
      if (mapping.movedFrom) {
        await updateCumulativeDose(fhir, mapping.movedFrom);
      }
      const patientId = await studyPatientId(fhir, snapshot.studyInstanceUid);
      return { ...mapping, cumulativeDose: patientId ? await updateCumulativeDose(fhir, patientId) : 'none' };
    },
    async withdraw(studyInstanceUid, patientKey) {
      // Read before the study is deleted: its subject is the patient whose sums change.
      const studyPatient = await studyPatientId(fhir, studyInstanceUid);
      const withdrawal = await withdrawStudy(fhir, studyInstanceUid);
      // Nothing deleted: the patient's sums are checked anyway, in case a previous attempt stopped
      // between the deletion and this update.
      const patientId = studyPatient ?? (patientKey ? await patientIdOf(fhir, parsePatientKey(patientKey)) : undefined);
      const cumulativeDose: CumulativeDoseOutcome = patientId ? await updateCumulativeDose(fhir, patientId) : 'none';
      return { ...withdrawal, cumulativeDose };
    },
  };
}

async function studyPatientId(fhir: FhirPort, studyInstanceUid: string): Promise<string | undefined> {
  const study = await findByIdentifier(fhir, 'ImagingStudy', dicomUidIdentifier(studyInstanceUid));
  return /^Patient\/([^/]+)$/.exec(study?.subject?.reference ?? '')?.[1];
}

async function patientIdOf(fhir: FhirPort, identifier: PatientIdentifier | undefined): Promise<string | undefined> {
  return identifier ? (await findByIdentifier(fhir, 'Patient', identifier))?.id : undefined;
}
