import { createHash } from 'node:crypto';
import type { BundleEntry, Coding, Identifier, Patient } from '@medplum/fhirtypes';
import { identifierToken, searchQuery } from './search';

/**
 * The longest conditional-create match (`ifNoneExist`) the FHIR server stores: HAPI keeps it, as
 * sent, in HFJ_RES_SEARCH_URL.RES_SEARCH_URL, 768 characters. Measured on HAPI 8.8 (2026-12-08):
 * 768 is created, 770 fails with 409 HAPI-0550 or 500 HAPI-0389 "Value too long for column", on
 * every try.
 */
export const MATCH_URL_MAX_LENGTH = 768;

/** The tag that names a Patient created under an identifier too long to match on (`patientCreateEntry`). */
export const PATIENT_IDENTITY_TAG_SYSTEM = 'https://imagingfacade.org/fhir/CodeSystem/patient-identity';

type IdentifierKey = Pick<Identifier, 'system' | 'value'>;

/** `_tag` code: the SHA-256 of `system|value`, in hex (64 characters whatever the identifier's length). */
export function patientIdentityTag(identifier: IdentifierKey): Coding & { system: string; code: string } {
  const code = createHash('sha256').update(`${identifier.system ?? ''}|${identifier.value ?? ''}`, 'utf8').digest('hex');
  return { system: PATIENT_IDENTITY_TAG_SYSTEM, code };
}

/**
 * Whether the Patient's conditional create matches on the identifier itself. When it does not
 * (the identifier is too long, see `patientCreateEntry`), a Patient made by another system is not
 * seen by the create: look it up by identifier first.
 */
export function createMatchesIdentifier(identifier: IdentifierKey): boolean {
  return searchQuery({ identifier: identifierToken(identifier) }).length <= MATCH_URL_MAX_LENGTH;
}

/**
 * The transaction entry that creates the Patient unless one with the identifier exists when the
 * server runs the transaction; other entries reference it by `fullUrl`. The match is the
 * identifier (`ifNoneExist: identifier=…`) when it fits what the server stores
 * (`MATCH_URL_MAX_LENGTH`). Past that (an issuer of 64 Japanese characters, percent-encoded twice,
 * is ~1,000), the Patient carries a tag naming its identifier by a hash and the match is the tag: a
 * short URL, and still one Patient per identifier when writers race (the server refuses the second
 * create with 409, and its retry finds the first). The mapper and the consent desk both create
 * Patients with this, so each finds the other's.
 */
export function patientCreateEntry(patient: Patient, identifier: IdentifierKey, fullUrl: string): BundleEntry<Patient> {
  const request = { method: 'POST' as const, url: 'Patient' };
  if (createMatchesIdentifier(identifier)) {
    return { fullUrl, resource: patient, request: { ...request, ifNoneExist: searchQuery({ identifier: identifierToken(identifier) }) } };
  }
  const tag = patientIdentityTag(identifier);
  return {
    fullUrl,
    resource: { ...patient, meta: { ...patient.meta, tag: [...(patient.meta?.tag ?? []), tag] } },
    request: { ...request, ifNoneExist: searchQuery({ _tag: `${tag.system}|${tag.code}` }) },
  };
}
