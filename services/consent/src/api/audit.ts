import type { NextFunction, Request, Response } from 'express';
import type { Pseudonymizer } from '@imaging-facade/consent';
import type { Logger } from '@imaging-facade/service-kit';

/** What a handler tells the audit line about the call it served. */
export interface AuditDetails {
  action: string;
  /** The patient key: logged as a pseudonym, never as is. */
  patientKey?: string;
  consentId?: string;
  inactivated?: string[];
}

export type AuditChannel = 'api' | 'desk';

/**
 * One structured line per call: who (the desk account), what (the action), on whom (a pseudonym of
 * the patient under the node's key, never the identifier or the name), and the outcome (the HTTP status).
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
          action: details.action ?? `${req.method} ${req.baseUrl}${req.route?.path ?? ''}`,
          patient: details.patientKey ? pseudonymize(details.patientKey) : undefined,
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
