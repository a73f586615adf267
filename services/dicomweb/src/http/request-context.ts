import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { authenticateBearer, buildAuditEvent, type FailedTokens, type OidcVerifier, type Principal } from '@imaging-facade/access';
import { isOutcomeError } from '@imaging-facade/fhir-outcomes';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { Logger } from '@imaging-facade/service-kit';
import { StudyIndexDb, type StudyRow } from '../index/study-index-db';

/**
 * What every request of the node's web faces goes through (DICOMweb, the dose dashboard's API), as
 * at the gateway: a request id, `no-store`, the bearer token checked (libs/access, same answers as
 * the FHIR face), what the face asks of the principal beyond it, and one BALP AuditEvent when it
 * ends — Query for searches, Read for retrievals — naming the studies and patients whose data left
 * the node.
 */

export type DicomwebInteraction = 'search-type' | 'read';

/** A study named in an answer, with its patient when the handler knows it. */
export type AuditedStudy = Pick<StudyRow, 'studyUid'> & Partial<Pick<StudyRow, 'patientSystem' | 'patientValue'>>;

export interface Audited {
  interaction: DicomwebInteraction;
  /** Studies whose data is in the answer. */
  studies: AuditedStudy[];
}

/** How one face differs: what its AuditEvents and log lines call it, and what it asks of a principal. */
export interface RequestFace {
  serverDisplay: string;
  logMessage: string;
  interactionOf(req: Request): DicomwebInteraction;
  /** Throws an OutcomeError (403) for a principal this face does not serve, once its token was accepted. */
  authorize?(principal: Principal, res: Response): void;
}

export const DICOMWEB_FACE: RequestFace = {
  serverDisplay: 'Imaging Facade DICOMweb',
  logMessage: 'dicomweb request',
  interactionOf: (req) => (/\/(studies|series|instances)$/.test(req.path) ? 'search-type' : 'read'),
};

export const principalOf = (res: Response): Principal => res.locals.principal as Principal;

export function audited(res: Response): Audited {
  return res.locals.audited as Audited;
}

export interface RequestContextDeps {
  verifier: Pick<OidcVerifier, 'verify'>;
  /** Bad tokens counted per client address (429 past the limit); undefined: no limit (said explicitly, so that no wiring forgets it). */
  failedTokens: FailedTokens | undefined;
  publicBaseUrl: string;
  audit: { enqueue: (event: AuditEvent) => void };
  logger: Logger;
}

export function requestContext(deps: RequestContextDeps, face: RequestFace = DICOMWEB_FACE) {
  const publicOrigin = new URL(deps.publicBaseUrl).origin;
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const requestId = typeof req.headers['x-request-id'] === 'string' && /^[\w\-.]{1,128}$/.test(req.headers['x-request-id']) ? req.headers['x-request-id'] : randomUUID();
    res.set('x-request-id', requestId);
    // Patient data: never kept by a shared cache or the browser's disk cache.
    res.set('cache-control', 'no-store');
    const record: Audited = { interaction: face.interactionOf(req), studies: [] };
    res.locals.audited = record;
    const started = Date.now();
    let refusal: string | undefined;
    res.once('finish', () => {
      const principal = res.locals.principal as Principal | undefined;
      const studies = res.statusCode < 400 ? record.studies : [];
      deps.audit.enqueue(
        buildAuditEvent({
          interaction: record.interaction,
          recorded: new Date(),
          status: res.statusCode,
          description: refusal,
          principal,
          clientAddress: req.socket.remoteAddress ?? 'unknown',
          gatewayBaseUrl: deps.publicBaseUrl,
          serverDisplay: face.serverDisplay,
          query: record.interaction === 'search-type' ? `GET ${publicOrigin}${req.originalUrl}` : undefined,
          studies: studies.map((study) => study.studyUid),
          patientIdentifiers: [...new Map(studies.flatMap(StudyIndexDb.patientOf).map((id) => [`${id.system}|${id.value}`, id])).values()],
          patients: [],
          requestId,
        }),
      );
      deps.logger[res.statusCode >= 400 ? 'info' : 'debug'](
        { requestId, interaction: record.interaction, status: res.statusCode, studies: studies.length, clientId: principal?.clientId, ms: Date.now() - started },
        face.logMessage,
      );
    });
    try {
      const principal = await authenticateBearer(req, res, deps.verifier, deps.publicBaseUrl, deps.logger, deps.failedTokens);
      res.locals.principal = principal;
      face.authorize?.(principal, res);
      next();
    } catch (error) {
      // Why the token was refused (or the client throttled), for the AuditEvent's outcomeDesc.
      refusal = isOutcomeError(error) ? error.message : undefined;
      next(error);
    }
  };
}
