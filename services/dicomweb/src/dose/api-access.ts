import type { Response } from 'express';
import { evaluateAccess, type Principal, type StudyAccess } from '@imaging-facade/access';
import { forbidden, OutcomeError } from '@imaging-facade/fhir-outcomes';
import { audited, requestContext, type RequestContextDeps, type RequestFace } from '../http/request-context';
import type { StudyIndexDb } from '../index/study-index-db';

/**
 * What every dashboard API request goes through: DICOMweb's request context (a request id,
 * `no-store`, the bearer token checked, one BALP Query AuditEvent when it ends, naming the studies
 * whose dose data left the node), with the dose officer's scopes required.
 */
export interface DoseAccessDeps extends RequestContextDeps {
  /** The role scope the token must carry besides Observation read and search (SMART `user/Observation.rs`). */
  roleScope: string;
  /** The access rule: a GP's token (one that waits for reports) is refused, as the dashboard lists exams not yet reported. */
  access: Pick<StudyAccess, 'waitsForReport'>;
}

/**
 * The studies an answer names, with their patients as the index knows them, for its AuditEvent (set
 * by the handler): "who saw patient X's data" finds a dose export too (until 2026-12-07 it named
 * the studies only).
 */
export function auditStudies(res: Response, studyUids: ReadonlyArray<string | undefined>, index: Pick<StudyIndexDb, 'study'>): void {
  audited(res).studies = [...new Set(studyUids.filter((uid): uid is string => !!uid))].map((studyUid) => index.study(studyUid) ?? { studyUid });
}

/** Why a principal may not use the dashboard, or undefined when it may. */
export function doseRefusal(principal: Principal, roleScope: string, access: Pick<StudyAccess, 'waitsForReport'>): string | undefined {
  if (!(principal.grantedScopes ?? []).includes(roleScope)) return `the token lacks the ${roleScope} scope`;
  if (access.waitsForReport(principal)) {
    return 'the token carries the GP role: a GP sees a study once its report is validated, and the dashboard lists every exam';
  }
  // Every exam of the node: a user/ or system/ scope (no patient restriction), for read and search.
  const unrestricted = (['read', 'search'] as const).every((interaction) => {
    const access = evaluateAccess(principal, 'Observation', interaction);
    return access.allowed && access.restriction === 'none';
  });
  if (!unrestricted) {
    return 'the token does not allow reading and searching every Observation (user/Observation.rs)';
  }
  return undefined;
}

/** The dashboard's API as a face of the node: a search each time, for the dose officer only. */
export function doseFace(roleScope: string, publicBaseUrl: string, access: Pick<StudyAccess, 'waitsForReport'>): RequestFace {
  return {
    serverDisplay: 'Imaging Facade dose dashboard',
    logMessage: 'dose dashboard request',
    interactionOf: () => 'search-type',
    authorize(principal, res) {
      const why = doseRefusal(principal, roleScope, access);
      if (why) {
        res.set('www-authenticate', `Bearer realm="${publicBaseUrl}", error="insufficient_scope", scope="${roleScope} user/Observation.rs"`);
        throw new OutcomeError(forbidden(`The dose dashboard needs the ${roleScope} and user/Observation.rs scopes: ${why}`));
      }
    },
  };
}

export function doseAccess(deps: DoseAccessDeps) {
  return requestContext(deps, doseFace(deps.roleScope, deps.publicBaseUrl, deps.access));
}
