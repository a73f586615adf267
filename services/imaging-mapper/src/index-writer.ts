import type { PatientIdentifier } from '@imaging-facade/events';
import { parsePatientKey } from '@imaging-facade/events';
import type { IndexWriter } from './consent/consent-gate';
import { withdrawStudy } from './consent/withdrawal';
import { hasDoseReport, updateCumulativeDose, type CumulativeDoseOutcome, type CumulativeDosePort } from './derived/cumulative-dose-update';
import { findByIdentifier, subjectPatientId, type FhirPort } from './fhir/fhir-lookups';
import { dicomUidIdentifier, type FhirClient } from '@imaging-facade/fhir';
import { patientIdentifierOfStudy } from '@imaging-facade/consent';
import { pendingRecountTag } from './fhir/subject-correction';
import { mapStudySnapshot, type MapperSettings } from './pipeline';

/**
 * What the consent gate does to the index: publish a study (its transaction), or withdraw it; then,
 * in both cases, the patient's cumulative dose is computed again from what the server holds, so a
 * refused study stops counting as soon as it is withdrawn. A failure of that second step fails the
 * whole call, which is retried (at-least-once): both steps are idempotent.
 */
export function indexWriter(fhir: CumulativeDosePort & Pick<FhirClient, 'changeMeta'>, settings: MapperSettings): IndexWriter {
  return {
    async publish(snapshot) {
      const mapping = await mapStudySnapshot(snapshot, fhir, settings);
      // A removed study's patient named on its record: an earlier handling removed it and then failed
      // before their dose was computed again (the snapshot may name another patient: a moved study).
      if (mapping.recordRecounts) {
        const { patientIds, recordId } = mapping.recordRecounts;
        for (const patientId of patientIds) await updateCumulativeDose(fhir, patientId);
        if (recordId) await fhir.changeMeta('$meta-delete', 'Basic', recordId, { tag: patientIds.map(pendingRecountTag) });
      }
      // The patients the study left (moved away from: named on the study until done; removed), whose
      // sums no longer count it.
      for (const patientId of mapping.pendingRecounts?.patientIds ?? []) {
        await updateCumulativeDose(fhir, patientId);
      }
      if (mapping.pendingRecounts) {
        const { patientIds, studyId } = mapping.pendingRecounts;
        // The patient a moved study now belongs to may also have received dose that another node's
        // report gave (transaction-steps.ts, movedReferrersStep): counted before the tag goes, so
        // that a retry after a failure here still counts it.
        const patientId = snapshot.series.length > 0 ? await studyPatientId(fhir, snapshot.studyInstanceUid) : undefined;
        const cumulativeDose = patientId ? await updateCumulativeDose(fhir, patientId) : undefined;
        await fhir.changeMeta('$meta-delete', 'ImagingStudy', studyId, { tag: patientIds.map(pendingRecountTag) });
        if (cumulativeDose) {
          return { ...mapping, cumulativeDose };
        }
      }
      if (snapshot.series.length === 0 || mapping.outcome === 'removed' || mapping.everyInstanceRejected) {
        // Every instance rejected, the study removed; again on a retry (nothing is removed then, and the
        // snapshot may still list instances the study remembered as rejected), as a withdrawal does.
        const identifier = patientIdentifierOfStudy(snapshot.study, settings.defaultPatientIdSystem);
        const patientId = mapping.removedFrom ?? (identifier ? await patientIdOf(fhir, identifier) : undefined);
        return { ...mapping, cumulativeDose: patientId ? await updateCumulativeDose(fhir, patientId) : 'none' };
      }
      // With rejected instances, a rejected dose report's values may have left the index, also in an
      // attempt that failed after its transaction: the sums are computed again.
      if (!hasDoseReport(snapshot) && !snapshot.rejected && !mapping.derived.observationsDeleted) {
        return mapping;
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
  return subjectPatientId(study);
}

async function patientIdOf(fhir: FhirPort, identifier: PatientIdentifier | undefined): Promise<string | undefined> {
  return identifier ? (await findByIdentifier(fhir, 'Patient', identifier))?.id : undefined;
}
