import type { ConsentDecision, PatientIdentifier } from '@imaging-facade/events';
import { patientKey } from '@imaging-facade/events';
import {
  concernsStudy,
  decideSharing,
  type ConsentPolicy,
  type PatientConsentState,
  type SharingDecision,
  type StudySummary,
} from '@imaging-facade/consent';
import type { DecisionService } from './decisions';
import type { PatientDirectory, PatientSummary } from './patients';
import type { CumulativeDoseLine } from '@imaging-facade/fhir';

export interface StudyWithConsent extends StudySummary {
  /** Whether the study may be in the shared index, under the policy and the patient's decisions. */
  sharing: SharingDecision;
  /** The decision about this very study, when there is one. */
  decision?: ConsentDecision;
}

/** Everything the desk shows of a patient's consent, and what the API answers. */
export interface PatientConsent {
  patient: PatientIdentifier;
  key: string;
  name?: string;
  birthDate?: string;
  sex?: string;
  policy: ConsentPolicy;
  /** The decision about all studies, when there is one. */
  patientDecision?: ConsentDecision;
  /** Every decision in force. */
  decisions: ConsentDecision[];
  studies: StudyWithConsent[];
  /** Per dose type, summed over the patient's studies (read with the patient; empty without any dose report). */
  cumulativeDose?: CumulativeDoseLine[];
}

/** The use cases the API and the page share. */
export interface ConsentDesk {
  policy: ConsentPolicy;
  /** The system of an identifier typed without one (the site's patient IDs). */
  defaultPatientIdSystem: string;
  decisions: DecisionService;
  directory: PatientDirectory;
  /** The patient's cumulative radiation dose, shown beside their studies. */
  doses: { cumulativeDose(patient: PatientIdentifier): Promise<CumulativeDoseLine[]> };
}

/**
 * The patient's consent as FHIR holds it, with their studies; undefined for an unknown patient
 * (neither in the study catalogue, nor in FHIR, nor with any decision).
 */
export async function patientConsent(desk: ConsentDesk, patient: PatientIdentifier): Promise<PatientConsent | undefined> {
  const [summary, state, cumulativeDose] = await Promise.all([desk.directory.find(patient), desk.decisions.current(patient), desk.doses.cumulativeDose(patient)]);
  if (!summary && state.decisions.length === 0) {
    return undefined;
  }
  return { ...describe(desk.policy, patient, summary, state), cumulativeDose };
}

export function describe(
  policy: ConsentPolicy,
  patient: PatientIdentifier,
  summary: PatientSummary | undefined,
  state: PatientConsentState,
): PatientConsent {
  const patientDecision = [...state.decisions].reverse().find((decision) => decision.scope === 'patient');
  const result: PatientConsent = {
    patient,
    key: patientKey(patient),
    policy,
    decisions: state.decisions,
    studies: (summary?.studies ?? []).map((study) => {
      const decision = [...state.decisions].reverse().find((d) => d.scope === 'study' && concernsStudy(d.study, study));
      return { ...study, sharing: decideSharing(policy, state, study), ...(decision ? { decision } : {}) };
    }),
  };
  if (summary?.name) result.name = summary.name;
  if (summary?.birthDate) result.birthDate = summary.birthDate;
  if (summary?.sex) result.sex = summary.sex;
  if (patientDecision) result.patientDecision = patientDecision;
  return result;
}
