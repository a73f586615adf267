import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { authenticateBearer, buildAuditEvent, type OidcVerifier, type Principal } from '@imaging-facade/access';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { Logger } from '@imaging-facade/service-kit';
import { StudyIndexDb, type StudyRow } from '../index/study-index-db';

/**
 * What every DICOMweb request goes through, as at the gateway: a request id, the bearer token
 * checked (libs/access, same answers as the FHIR face), and one BALP AuditEvent when it ends —
 * Query for QIDO-RS, Read for WADO-RS — naming the studies and patients whose data left the node.
 */

export type DicomwebInteraction = 'search-type' | 'read';

export interface Audited {
  interaction: DicomwebInteraction;
  /** Studies whose data is in the answer. */
  studies: StudyRow[];
}

export const principalOf = (res: Response): Principal => res.locals.principal as Principal;

export function audited(res: Response): Audited {
  return res.locals.audited as Audited;
}

export interface RequestContextDeps {
  verifier: Pick<OidcVerifier, 'verify'>;
  publicBaseUrl: string;
  audit: { enqueue: (event: AuditEvent) => void };
  logger: Logger;
}

export function requestContext(deps: RequestContextDeps) {
  const publicOrigin = new URL(deps.publicBaseUrl).origin;
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const requestId = typeof req.headers['x-request-id'] === 'string' && /^[\w\-.]{1,128}$/.test(req.headers['x-request-id']) ? req.headers['x-request-id'] : randomUUID();
    res.set('x-request-id', requestId);
    // Patient data: never kept by a shared cache or the browser's disk cache.
    res.set('cache-control', 'no-store');
    const isSearch = /\/(studies|series|instances)$/.test(req.path);
    const record: Audited = { interaction: isSearch ? 'search-type' : 'read', studies: [] };
    res.locals.audited = record;
    const started = Date.now();
    res.once('finish', () => {
      const principal = res.locals.principal as Principal | undefined;
      const studies = res.statusCode < 400 ? record.studies : [];
      deps.audit.enqueue(
        buildAuditEvent({
          interaction: record.interaction,
          recorded: new Date(),
          status: res.statusCode,
          principal,
          clientAddress: req.socket.remoteAddress ?? 'unknown',
          gatewayBaseUrl: deps.publicBaseUrl,
          serverDisplay: 'Imaging Facade DICOMweb',
          query: record.interaction === 'search-type' ? `GET ${publicOrigin}${req.originalUrl}` : undefined,
          studies: studies.map((study) => study.studyUid),
          patientIdentifiers: [...new Map(studies.flatMap(StudyIndexDb.patientOf).map((id) => [`${id.system}|${id.value}`, id])).values()],
          patients: [],
          requestId,
        }),
      );
      deps.logger[res.statusCode >= 400 ? 'info' : 'debug'](
        { requestId, interaction: record.interaction, status: res.statusCode, studies: studies.length, clientId: principal?.clientId, ms: Date.now() - started },
        'dicomweb request',
      );
    });
    try {
      res.locals.principal = await authenticateBearer(req, res, deps.verifier, deps.publicBaseUrl, deps.logger);
      next();
    } catch (error) {
      next(error);
    }
  };
}
