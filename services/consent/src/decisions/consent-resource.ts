import type { Coding, Consent, ConsentProvisionData, Identifier, Organization, Reference } from '@medplum/fhirtypes';
import type { ConsentDecision, ConsentStudy, PatientIdentifier } from '@imaging-facade/events';
import { accessionNumberIdentifier, accessionNumberOf, dicomUidIdentifier, dicomUidOf } from '@imaging-facade/fhir';

/**
 * The FHIR R4 Consent that records one desk decision, shaped as IHE Privacy Consent on FHIR (PCF)
 * describes a privacy consent: Basic (all studies) or Intermediate (one study, in provision.data).
 * The PCF profiles are not claimed in meta.profile: the FHIR server does not hold the IHE package,
 * and a claimed profile it cannot resolve fails validation.
 */
export const CONSENT_SCOPE: Coding = {
  system: 'http://terminology.hl7.org/CodeSystem/consentscope',
  code: 'patient-privacy',
  display: 'Privacy Consent',
};
export const CONSENT_CATEGORY: Coding = { system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' };
/** Marks the Consents the desk manages (decisions about sharing imaging studies), to find them again. */
export const DESK_CONSENT_TAG: Coding = {
  system: 'https://imagingfacade.org/fhir/CodeSystem/consent-desk',
  code: 'imaging-sharing',
  display: 'Sharing of imaging studies in the shared index',
};
/** Desk accounts, as the performer who recorded a decision. */
export const DESK_USER_SYSTEM = 'https://imagingfacade.org/fhir/sid/consent-desk-user';

export interface ConsentSettings {
  /** Consent.policy.uri: the deployment's sharing policy. */
  policyUri: string;
  organization: { name: string; identifier?: PatientIdentifier | undefined };
}

/** One decision taken at the desk, before it is stored. */
export interface DecisionInput {
  patient: PatientIdentifier;
  provision: 'permit' | 'deny';
  /** Absent: the decision covers all the patient's studies. */
  study?: ConsentStudy | undefined;
  recordedAt: string;
  recordedBy: string;
}

/** `patientReference` is where the Patient is (a `urn:uuid:` of the same transaction, or `Patient/<id>`). */
export function buildConsent(decision: DecisionInput, settings: ConsentSettings, patientReference: string): Consent {
  const organization: Reference<Organization> = { display: settings.organization.name };
  if (settings.organization.identifier) {
    organization.identifier = { ...settings.organization.identifier };
  }
  return {
    resourceType: 'Consent',
    meta: { tag: [DESK_CONSENT_TAG] },
    text: { status: 'generated', div: narrative(decision) },
    status: 'active',
    scope: { coding: [CONSENT_SCOPE] },
    category: [{ coding: [CONSENT_CATEGORY] }],
    patient: { reference: patientReference, identifier: { ...decision.patient } },
    dateTime: decision.recordedAt,
    performer: [
      { type: 'Practitioner', identifier: { system: DESK_USER_SYSTEM, value: decision.recordedBy }, display: decision.recordedBy },
    ],
    organization: [organization],
    policy: [{ uri: settings.policyUri }],
    provision: decision.study
      ? { type: decision.provision, data: [{ meaning: 'instance', reference: studyReference(decision.study) }] }
      : { type: decision.provision },
  };
}

/** The same Consent, no longer in force: a later decision superseded it, or the desk revoked it. */
export function inactivated(consent: Consent): Consent {
  return { ...consent, status: 'inactive' };
}

/** The decision a stored Consent records; undefined for a Consent the desk did not write. */
export function decisionOfConsent(consent: Consent): ConsentDecision | undefined {
  const provision = consent.provision?.type;
  const recordedBy = consent.performer?.find((performer) => performer.identifier?.system === DESK_USER_SYSTEM)?.identifier?.value;
  if (!consent.id || !consent.dateTime || !recordedBy || (provision !== 'permit' && provision !== 'deny')) {
    return undefined;
  }
  const data = consent.provision?.data ?? [];
  if (data.length === 0) {
    return { scope: 'patient', provision, consentId: consent.id, recordedAt: toInstant(consent.dateTime), recordedBy };
  }
  const study = studyOfData(data);
  return study ? { scope: 'study', study, provision, consentId: consent.id, recordedAt: toInstant(consent.dateTime), recordedBy } : undefined;
}

/** The patient identifier the desk wrote into Consent.patient. */
export function patientOfConsent(consent: Consent): PatientIdentifier | undefined {
  const { system, value } = consent.patient?.identifier ?? {};
  return system && value ? { system, value } : undefined;
}

function studyReference(study: ConsentStudy): Reference {
  // The desk's Consents have always named the accession type without display: new ones stay like the stored ones.
  const identifier: Identifier = study.studyInstanceUid
    ? dicomUidIdentifier(study.studyInstanceUid)
    : accessionNumberIdentifier(study.accessionNumber!, undefined, { withoutDisplay: true });
  return { type: 'ImagingStudy', identifier };
}

function studyOfData(data: ConsentProvisionData[]): ConsentStudy | undefined {
  const study: ConsentStudy = {};
  for (const entry of data) {
    const identifier = entry.reference?.identifier;
    const uid = dicomUidOf(identifier);
    const accessionNumber = accessionNumberOf(identifier);
    if (uid !== undefined) {
      study.studyInstanceUid = uid;
    } else if (accessionNumber !== undefined) {
      study.accessionNumber = accessionNumber;
    }
  }
  return study.studyInstanceUid || study.accessionNumber ? study : undefined;
}

/** FHIR dateTime → an ISO instant (the server may answer a dateTime with its own offset). */
function toInstant(dateTime: string): string {
  const millis = Date.parse(dateTime);
  return Number.isNaN(millis) ? dateTime : new Date(millis).toISOString();
}

/** A narrative without any patient data: what was decided, for which studies, by whom. */
function narrative(decision: DecisionInput): string {
  const what = decision.provision === 'permit' ? 'agreed to' : 'refused';
  const which = decision.study
    ? `the imaging study ${escapeXml(decision.study.studyInstanceUid ?? `with accession number ${decision.study.accessionNumber}`)}`
    : 'all their imaging studies';
  return `<div xmlns="http://www.w3.org/1999/xhtml"><p>The patient ${what} the sharing of ${which} in the shared imaging index (recorded at the reception desk by ${escapeXml(decision.recordedBy)}).</p></div>`;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
