import type { NextFunction, Request, Response } from 'express';
import type { Pseudonymizer } from '@imaging-facade/consent';
import type { Logger } from '@imaging-facade/service-kit';

/** What a handler tells the audit line about the call it served. */
export interface AuditDetails {
  action: string;
  /** The patient key: logged as a pseudonym, never as is. */
  patientKey?: string;
  /** The patients a search showed (their keys): logged as pseudonyms, so that who was seen is on record. */
  patientKeys?: string[];
  /** The account name a sign-in tried (a failed one has no user). */
  attemptedUser?: string;
  consentId?: string;
  inactivated?: string[];
}

export type AuditChannel = 'api' | 'desk';

/**
 * One structured line per call: who (the desk account, or the name a failed sign-in tried, and the
 * client's address), what (the action), on whom (pseudonyms of the patient or of the patients a
 * search showed, under the node's key, never an identifier or a name), and the outcome (the HTTP status).
 */
export function auditTrail(logger: Logger, channel: AuditChannel, pseudonymize: Pseudonymizer) {
  const audit = logger.child({ component: 'audit', channel });
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = Date.now();
    res.on('finish', () => {
      const details = (res.locals.audit ?? {}) as Partial<AuditDetails>;
      audit.info(
        {
          audit: true,
          user: (res.locals.user as string | undefined) ?? null,
          attemptedUser: res.locals.user === undefined ? details.attemptedUser : undefined,
          client: req.ip,
          action: details.action ?? `${req.method} ${req.baseUrl}${req.route?.path ?? ''}`,
          patient: details.patientKey ? pseudonymize(details.patientKey) : undefined,
          patients: details.patientKeys?.map(pseudonymize),
          consentId: details.consentId,
          inactivated: details.inactivated,
          outcome: res.statusCode < 400 ? 'success' : 'failure',
          status: res.statusCode,
          durationMs: Date.now() - started,
        },
        'audit',
      );
    });
    next();
  };
}

export function setAudit(res: Response, details: AuditDetails): void {
  res.locals.audit = details;
}
