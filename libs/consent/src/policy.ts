import { createHash } from 'node:crypto';
import type { ConsentDecision, ConsentDecisionV1Data, ConsentStudy } from '@imaging-facade/events';

/**
 * The deployment's consent policy. `opt-out`: a study is shared unless the patient refused.
 * `opt-in`: a study is shared only once the patient agreed.
 */
export type ConsentPolicy = 'opt-in' | 'opt-out';
export const CONSENT_POLICIES: readonly ConsentPolicy[] = ['opt-out', 'opt-in'];

/** A patient's complete current consent state: the data of the last decisions message for the patient. */
export type PatientConsentState = ConsentDecisionV1Data;

export type SharingDecision = 'share' | 'withhold';

/** The study being published, as the decision needs it. */
export interface StudyRef {
  studyInstanceUid: string;
  accessionNumber?: string | undefined;
}

/**
 * Whether a study may reach the shared index. Pure: the same inputs always give the same answer.
 * A decision about this very study beats the patient-wide one; without any decision the policy
 * decides (opt-out shares, opt-in withholds).
 */
export function decideSharing(policy: ConsentPolicy, state: PatientConsentState | undefined, study: StudyRef): SharingDecision {
  const decision = governingDecision(state, study);
  if (decision === undefined) {
    return policy === 'opt-out' ? 'share' : 'withhold';
  }
  return decision.provision === 'permit' ? 'share' : 'withhold';
}

/**
 * `decideSharing` for a patient known by several identifiers, each with its own decisions (a
 * refusal recorded under a regional identifier, studies filed under the hospital's): the study is
 * withheld when the decision governing it under any identifier is a refusal, shared when some
 * decision governs it and none refuses, and left to the policy when none does. With one state it
 * is `decideSharing`. The gateway's, DICOMweb's and the mapper's rule.
 */
export function decideSharingOver(policy: ConsentPolicy, states: ReadonlyArray<PatientConsentState | undefined>, study: StudyRef): SharingDecision {
  const decisions = states.map((state) => governingDecision(state, study)).filter((decision) => decision !== undefined);
  if (decisions.some((decision) => decision.provision === 'deny')) {
    return 'withhold';
  }
  if (decisions.length > 0) {
    return 'share';
  }
  return policy === 'opt-out' ? 'share' : 'withhold';
}

/**
 * The decision in force for a study: the latest one about the study itself, else the latest
 * patient-wide one, else none. Two decisions of the same level recorded at the same instant: the
 * refusal wins.
 */
export function governingDecision(state: PatientConsentState | undefined, study: StudyRef): ConsentDecision | undefined {
  const decisions = state?.decisions ?? [];
  const aboutStudy = decisions.filter((decision) => decision.scope === 'study' && concernsStudy(decision.study, study));
  if (aboutStudy.length > 0) {
    return latest(aboutStudy);
  }
  const patientWide = decisions.filter((decision) => decision.scope === 'patient');
  return patientWide.length > 0 ? latest(patientWide) : undefined;
}

/**
 * Whether the patient-wide decision in force is a refusal: what is the patient's without being one
 * study's (their cumulative dose) is then withheld, whatever the policy. Their record is withheld
 * too unless they agreed to a study on its own (`withholdsRecord`). Without a patient-wide decision
 * nothing is refused patient-wide.
 */
export function refusesPatientWide(state: PatientConsentState | undefined): boolean {
  const patientWide = (state?.decisions ?? []).filter((decision) => decision.scope === 'patient');
  return patientWide.length > 0 && latest(patientWide).provision === 'deny';
}

/**
 * Whether a patient's own record (their Patient resource) is withheld, for a patient known by one
 * or several identifiers, each with its decisions: a patient-wide refusal governs one of them, and
 * no study they agreed to on its own is shared over all of them (`decideSharingOver`). A study
 * agreed against a patient-wide refusal is shown with its record: a reader must be able to tell
 * whose study it is, and the study's DICOM header, shared with it, carries the same name and birth
 * date. The mapper's rule for the withheld label, and the gateway's for a Patient resource.
 */
export function withholdsRecord(states: ReadonlyArray<PatientConsentState | undefined>): boolean {
  if (!states.some(refusesPatientWide)) {
    return false;
  }
  // Every state holds a decision for the study (a refusal does), so the policy is never asked.
  return !states.some((state) => agreedStudies(state).some((study) => decideSharingOver('opt-in', states, study) === 'share'));
}

/**
 * The studies a state agrees to share one by one: each study a study-level decision names whose
 * decision in force there is an agreement. A study named by its accession number alone is taken as
 * such (its UID unknown here), so a decision naming its UID under another identifier does not
 * reach it: the record then stays withheld.
 */
function agreedStudies(state: PatientConsentState | undefined): StudyRef[] {
  const studies = (state?.decisions ?? []).flatMap((decision) =>
    decision.scope === 'study' && decision.study !== undefined
      ? [{ studyInstanceUid: decision.study.studyInstanceUid ?? '', accessionNumber: decision.study.accessionNumber }]
      : [],
  );
  return studies.filter((study) => governingDecision(state, study)?.provision === 'permit');
}

/**
 * Whether a study-level decision is about this study: by StudyInstanceUID when the decision names
 * one (the UID is unique), otherwise by accession number.
 */
export function concernsStudy(target: ConsentStudy | undefined, study: StudyRef): boolean {
  if (target === undefined) {
    return false;
  }
  if (target.studyInstanceUid !== undefined) {
    return target.studyInstanceUid === study.studyInstanceUid;
  }
  return target.accessionNumber !== undefined && target.accessionNumber === study.accessionNumber;
}

function latest(decisions: ConsentDecision[]): ConsentDecision {
  return decisions.reduce((best, candidate) => {
    const order = Date.parse(candidate.recordedAt) - Date.parse(best.recordedAt);
    if (order > 0 || (order === 0 && candidate.provision === 'deny')) {
      return candidate;
    }
    return best;
  });
}

/**
 * What decideSharing reads of a patient's state, as a short digest: two states with the same
 * fingerprint decide every study alike under one policy. Undefined for no decision (the policy
 * decides). Stored by the mapper as the decisions it last applied (ReconciledPatients).
 */
export function decisionsFingerprint(state: PatientConsentState | undefined): string | undefined {
  if (state === undefined || state.decisions.length === 0) {
    return undefined;
  }
  // The view's states are parsed by zod, so their keys come in the schema's order.
  return createHash('sha256').update(JSON.stringify(state.decisions)).digest('base64url').slice(0, 22);
}
