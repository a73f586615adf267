import { z } from 'zod';
import { dicomUidSchema } from '@imaging-facade/dicom';
import { parsePatientKey, PATIENT_SYSTEM_MAX_LENGTH, PATIENT_VALUE_MAX_LENGTH, recordedPatientIdentifierSchema, type ConsentStudy, type PatientIdentifier } from '@imaging-facade/events';
import { badRequest, OutcomeError } from '@imaging-facade/fhir-outcomes';
import type { PatientQuery } from '../decisions/patients';

/** Accession Number is a DICOM SH: at most 16 characters. */
const accessionNumber = z.string().trim().min(1, 'must not be empty').max(16, 'has at most 16 characters (DICOM SH)');
const studyUid = dicomUidSchema;

/** `POST /api/decisions`. */
export const decisionBodySchema = z
  .strictObject({
    patient: recordedPatientIdentifierSchema,
    decision: z.enum(['permit', 'deny'], { error: 'must be "permit" or "deny"' }),
    study: studyUid.optional(),
    accessionNumber: accessionNumber.optional(),
  })
  .refine((body) => !(body.study && body.accessionNumber), {
    message: 'name the study by its StudyInstanceUID ("study") or by its accession number, not both',
    path: ['study'],
  });

export interface DecisionCommand {
  patient: PatientIdentifier;
  provision: 'permit' | 'deny';
  study: ConsentStudy | undefined;
}

export function parseDecisionBody(body: unknown): DecisionCommand {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new OutcomeError(badRequest('The body must be a JSON object: {"patient": {"system", "value"}, "decision": "permit" | "deny", "study"?}'));
  }
  const parsed = parseWith(decisionBodySchema, body);
  return { patient: parsed.patient, provision: parsed.decision, study: studyOf(parsed.study, parsed.accessionNumber) };
}

/**
 * The `study` / `accessionNumber` query parameters of a revocation: absent means all studies, so
 * any other parameter is a 400 (a misspelt `StudyInstanceUID=` revoked the patient-wide refusal).
 */
export const revokeQuerySchema = z.strictObject({
  study: studyUid.optional(),
  accessionNumber: accessionNumber.optional(),
});

export function parseRevokeQuery(query: unknown): ConsentStudy | undefined {
  const parsed = parseWith(revokeQuerySchema, query);
  if (parsed.study && parsed.accessionNumber) {
    throw new OutcomeError(badRequest('name the study by "study" or by "accessionNumber", not both', ['study']));
  }
  return studyOf(parsed.study, parsed.accessionNumber);
}

/** A patient in a path or a query parameter: `system|value`, each part within what a decision may be recorded under. */
export function parsePatientParam(text: unknown, name = 'patient'): PatientIdentifier {
  const patient = parseRecordablePatientKey(text);
  if (!patient) {
    throw new OutcomeError(
      badRequest(`${name} must be the patient identifier as system|value (the system at most ${PATIENT_SYSTEM_MAX_LENGTH} characters, the value at most ${PATIENT_VALUE_MAX_LENGTH} characters), e.g. urn:oid:1.2.250.1.71.4.2.7|123456`, [name]),
    );
  }
  return patient;
}

/** `system|value` as a decision may be recorded under (libs/events `recordedPatientIdentifierSchema`); undefined otherwise. */
export function parseRecordablePatientKey(text: unknown): PatientIdentifier | undefined {
  const patient = typeof text === 'string' ? parsePatientKey(text.trim()) : undefined;
  return patient && recordedPatientIdentifierSchema.safeParse(patient).success ? patient : undefined;
}

/** `GET /api/patients`: `identifier` (a value, or system|value), or `name` and `birthdate` (YYYY-MM-DD) together. */
export const patientSearchSchema = z
  .object({
    // A value, or a whole key (system|value) as long as a patient may be named under.
    identifier: z.string().trim().min(1, 'must not be empty').max(PATIENT_SYSTEM_MAX_LENGTH + 1 + PATIENT_VALUE_MAX_LENGTH).optional(),
    name: z.string().trim().min(2, 'needs at least 2 characters').max(200).optional(),
    birthdate: z.iso.date('must be a date as YYYY-MM-DD').optional(),
  })
  .refine((query) => query.identifier !== undefined || (query.name !== undefined && query.birthdate !== undefined), {
    message: 'search by identifier, or by name and birthdate together',
    path: ['identifier'],
  });

export function parsePatientSearch(query: unknown): PatientQuery {
  const parsed = parseWith(patientSearchSchema, query);
  if (parsed.identifier !== undefined) {
    return { identifier: parsePatientKey(parsed.identifier) ?? { value: parsed.identifier } };
  }
  return { name: parsed.name!, birthDate: parsed.birthdate! };
}

function studyOf(studyInstanceUid: string | undefined, accession: string | undefined): ConsentStudy | undefined {
  if (studyInstanceUid) return { studyInstanceUid };
  if (accession) return { accessionNumber: accession };
  return undefined;
}

/** Parses with a schema; a failure is a 400 OperationOutcome that names each bad field and says why. */
function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) {
    return parsed.data;
  }
  const issues = parsed.error.issues.slice(0, 5);
  const diagnostics = issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
  throw new OutcomeError(badRequest(diagnostics, [...new Set(issues.map((issue) => issue.path.join('.') || '(body)'))]));
}
