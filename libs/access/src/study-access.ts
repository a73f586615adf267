import type { PatientIdentifier } from '@imaging-facade/events';
import { consentShares, type ConsentLookups, type ConsentRules, type StudyKey } from './consent';
import type { Principal } from './oidc';
import { waitsForReport } from './report-gate';
import { typeAccess } from './visibility';

/**
 * The access rule of the FHIR gateway, for a face that knows studies by their UIDs rather than as
 * FHIR resources (the node's DICOMweb service): a token may search or retrieve a study's images
 * exactly when it may search or read that study's ImagingStudy through the gateway. Same scope
 * check (`typeAccess`), same patient compartment (a patient token sees its Patient's studies), same
 * consent decision (`consentShares`).
 */

/** A study as the node knows it from its own index: no FHIR resource needed. */
export interface StudyFacts extends StudyKey {
  /** The study's patient as the node names it (libs/events patientIdentityOf). */
  patient: PatientIdentifier[];
  /** Whether the study holds a validated report (libs/dicom isValidatedReport); asked only for a token that waits for one. */
  reported?: (() => boolean) | undefined;
}

export type StudyScope =
  /** Every study of the node (consent still applies); `reportedOnly`: those with a validated report (a GP's token). */
  | { kind: 'all'; reportedOnly?: boolean }
  /** The studies of the patient with these identifiers (a patient-restricted token). */
  | { kind: 'patient'; identifiers: PatientIdentifier[]; reportedOnly?: boolean }
  | { kind: 'denied'; reason: string };

export type StudyInteraction = 'read' | 'search';

const sameIdentifier = (a: PatientIdentifier, b: PatientIdentifier): boolean => a.system === b.system && a.value === b.value;

export class StudyAccess {
  constructor(
    private readonly consent: { rules: ConsentRules; lookups: ConsentLookups },
    /** The role scope of the tokens that see a study once its report is validated (report-gate.ts); undefined: none wait. */
    private readonly reportRoleScope?: string,
  ) {}

  /** Whether the token sees studies only once reported (a GP's): it is shown no patient-wide total of their doses either. */
  waitsForReport(principal: Principal): boolean {
    return waitsForReport(principal, { roleScope: this.reportRoleScope });
  }

  /** Which studies a token may search or read the images of. */
  async scopeOf(principal: Principal, interaction: StudyInteraction): Promise<StudyScope> {
    const access = typeAccess(principal, 'ImagingStudy', interaction);
    if (!access.allowed) {
      return { kind: 'denied', reason: access.reason };
    }
    const reportedOnly = this.waitsForReport(principal);
    if (access.restriction === 'none') {
      return { kind: 'all', ...(reportedOnly ? { reportedOnly } : {}) };
    }
    return { kind: 'patient', identifiers: await this.consent.lookups.patientIdentifiers(access.patientId), ...(reportedOnly ? { reportedOnly } : {}) };
  }

  /** Whether the token may see this study's images now (scope, patient, report for a GP, consent). */
  async canSee(principal: Principal, study: StudyFacts, interaction: StudyInteraction, scope?: StudyScope): Promise<boolean> {
    const granted = scope ?? (await this.scopeOf(principal, interaction));
    if (granted.kind === 'denied') {
      return false;
    }
    if (granted.kind === 'patient' && !study.patient.some((identifier) => granted.identifiers.some((own) => sameIdentifier(own, identifier)))) {
      return false;
    }
    if (granted.reportedOnly === true && study.reported?.() !== true) {
      return false;
    }
    return this.consentShares(study);
  }

  /** Consent alone (for a list already restricted to the token's scope). */
  consentShares(study: StudyFacts): boolean {
    const rules = this.consent.rules;
    return !rules.mayWithhold() || consentShares(rules, study.patient, [{ studyInstanceUid: study.studyInstanceUid, accessionNumber: study.accessionNumber }]);
  }
}
