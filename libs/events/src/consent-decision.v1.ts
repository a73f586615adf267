import { z } from 'zod';
import { topicSpec } from './topics';
import { dicomUidSchema } from '@imaging-facade/dicom';
import { envelopeSchema } from './envelope';
import { patientSystemProblem, patientValueProblem } from './patient-identity';

/**
 * A patient's complete current consent state, as recorded at the reception desk: every decision in
 * force, not a delta. The topic is compacted and keyed by patient, so its last message per key is
 * the patient's whole state; a revoked decision simply disappears from `decisions`, and an empty
 * list means "no decision" (the deployment's policy applies).
 * Key: the patient identifier as `system|value` (see `patientKey`). Carries patient identifiers:
 * consumers must not log the key or `patient`.
 */
export const CONSENT_DECISION_V1 = topicSpec({
  topic: 'consent.patient-decisions.v1',
  type: 'org.imagingfacade.consent.patient-decisions.v1',
  partitions: 3,
  // The last message per patient is their whole current state, read whole at start by every face.
  cleanupPolicy: 'compact',
} as const);

export const patientIdentifierSchema = z.object({
  /** The identifier's namespace, a URI (`urn:oid:…` for an OID). */
  system: z.string().min(1).regex(/^\S+$/, 'a system is a URI without spaces').refine((system) => !system.includes('|'), 'a system must not contain "|"'),
  value: z.string().min(1),
});

export type PatientIdentifier = z.infer<typeof patientIdentifierSchema>;

/** A string refused with the reason a rule of patient-identity.ts gives. */
const checkedBy = (problem: (text: string) => string | undefined) =>
  z.string().superRefine((text, context) => {
    const reason = problem(text);
    if (reason) context.addIssue({ code: 'custom', message: reason });
  });

/**
 * A patient identifier as a decision may be recorded under: the node's one rule of patient
 * identities (patient-identity.ts `patientIdentityProblem`), which the mapper applies to every
 * study it indexes, so that every patient in the index can be decided on and nobody else. Nothing
 * else in it. Checked where decisions are recorded (the desk); the topic's schema above stays as
 * it was, so no message already written becomes unreadable.
 */
export const recordedPatientIdentifierSchema = z.strictObject({
  system: checkedBy(patientSystemProblem),
  value: checkedBy(patientValueProblem),
});

/** The study a decision is limited to: by StudyInstanceUID, by accession number, or both. */
export const consentStudySchema = z
  .object({
    studyInstanceUid: dicomUidSchema.optional(),
    accessionNumber: z.string().min(1).max(64).optional(),
  })
  .refine((study) => study.studyInstanceUid !== undefined || study.accessionNumber !== undefined, {
    message: 'a study needs a studyInstanceUid or an accessionNumber',
  });

export const consentDecisionSchema = z
  .object({
    scope: z.enum(['patient', 'study']),
    study: consentStudySchema.optional(),
    provision: z.enum(['permit', 'deny']),
    /** Logical id of the FHIR Consent that records the decision. */
    consentId: z.string().min(1),
    recordedAt: z.iso.datetime({ offset: true }),
    /** The desk account that recorded it. */
    recordedBy: z.string().min(1),
  })
  .refine((decision) => (decision.scope === 'study') === (decision.study !== undefined), {
    message: 'a study decision names its study, a patient decision names none',
    path: ['study'],
  });

/**
 * Where a state stands in the FHIR server's own order of changes of the patient's desk Consents,
 * inactive ones included (a revocation or a superseded decision writes a new version of its
 * Consent): the greatest `meta.lastUpdated` among them (the FHIR server's clock, never a desk's;
 * absent when the patient has no desk Consent) and the sum of their `meta.versionId`s, which every
 * change raises. A later state of FHIR never has a smaller one; two reads of the same state have
 * the same. Consumers keep a patient's state with the greatest (libs/consent `takesOver`), so that
 * a desk that read FHIR before another desk's change, and published after it, changes nothing.
 */
export const consentStateOrderSchema = z.object({
  lastUpdated: z.iso.datetime({ offset: true }).optional(),
  versions: z.number().int().nonnegative(),
});

export const consentDecisionV1DataSchema = z.object({
  patient: patientIdentifierSchema,
  decisions: z.array(consentDecisionSchema),
  updatedAt: z.iso.datetime({ offset: true }),
  /** Absent from the states published before 2026-12-08 (applied by their place on the topic, as then). */
  fhirOrder: consentStateOrderSchema.optional(),
});

export type ConsentStudy = z.infer<typeof consentStudySchema>;
export type ConsentDecision = z.infer<typeof consentDecisionSchema>;
export type ConsentDecisionV1Data = z.infer<typeof consentDecisionV1DataSchema>;
export type ConsentStateOrder = z.infer<typeof consentStateOrderSchema>;

export const consentDecisionV1Schema = envelopeSchema(CONSENT_DECISION_V1.type, consentDecisionV1DataSchema);
export type ConsentDecisionV1 = z.infer<typeof consentDecisionV1Schema>;

/** The message key of a patient: `system|value` (a system never contains "|", a value may). */
export function patientKey(patient: PatientIdentifier): string {
  return `${patient.system}|${patient.value}`;
}

/** The inverse of `patientKey`; undefined when the key has no system or no value. */
export function parsePatientKey(key: string): PatientIdentifier | undefined {
  const bar = key.indexOf('|');
  if (bar <= 0 || bar === key.length - 1) {
    return undefined;
  }
  const parsed = patientIdentifierSchema.safeParse({ system: key.slice(0, bar), value: key.slice(bar + 1) });
  return parsed.success ? parsed.data : undefined;
}
