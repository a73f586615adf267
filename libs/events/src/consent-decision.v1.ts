import { z } from 'zod';
import { topicSpec } from './topics';
import { dicomUidSchema } from '@imaging-facade/dicom';
import { envelopeSchema } from './envelope';

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

/**
 * The longest system, and the longest value, a decision may be recorded under. Every service looks
 * up the Patient records holding a decided identifier, in OR lists of a few thousand characters;
 * one far longer would exceed the FHIR server's query string limit (HAPI on Tomcat answers `400`
 * past ~8 KB), a failure no retry mends, and DICOMweb would stay unready. Checked where decisions
 * are recorded (the desk); the topic's schema above stays as it was, so no message already written
 * becomes unreadable.
 */
export const RECORDED_IDENTIFIER_MAX_LENGTH = 200;

/**
 * A patient identifier as a decision may be recorded under (`RECORDED_IDENTIFIER_MAX_LENGTH`),
 * nothing else in it: a value with a space at either end, or a control or invisible character, is
 * refused, not trimmed (an identifier is never rewritten). The FHIR server trims a token it
 * searches and the ingest reads PatientID without its padding, so `"V "` found V's records while
 * the decision was announced under a key no study has: the refusal was shown at the desk and
 * enforced nowhere, and a permit for `"V "` ended V's own refusal (until 2026-12-07, a review).
 */
export const recordedPatientIdentifierSchema = z.strictObject({
  system: patientIdentifierSchema.shape.system.pipe(z.string().max(RECORDED_IDENTIFIER_MAX_LENGTH, `has at most ${RECORDED_IDENTIFIER_MAX_LENGTH} characters`)),
  value: patientIdentifierSchema.shape.value
    .max(RECORDED_IDENTIFIER_MAX_LENGTH, `has at most ${RECORDED_IDENTIFIER_MAX_LENGTH} characters`)
    .refine((value) => value.trim() === value, 'has no space at either end')
    .refine((value) => !/[\p{Cc}\p{Cf}]/u.test(value), 'has no control or invisible character'),
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

export const consentDecisionV1DataSchema = z.object({
  patient: patientIdentifierSchema,
  decisions: z.array(consentDecisionSchema),
  updatedAt: z.iso.datetime({ offset: true }),
});

export type ConsentStudy = z.infer<typeof consentStudySchema>;
export type ConsentDecision = z.infer<typeof consentDecisionSchema>;
export type ConsentDecisionV1Data = z.infer<typeof consentDecisionV1DataSchema>;

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
