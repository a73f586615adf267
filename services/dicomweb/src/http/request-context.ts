import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { authenticateBearer, buildAuditEvent, refuseWhileAuditFull, type FailedTokens, type OidcVerifier, type Principal } from '@imaging-facade/access';
import { isOutcomeError } from '@imaging-facade/fhir-outcomes';
import { dicomUidSchema } from '@imaging-facade/dicom';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { CatchingUp, Logger } from '@imaging-facade/service-kit';
import { StudyIndexDb, type StudyRow } from '../index/study-index-db';
import { requireConsentReady, requireIndexReady } from './consent-ready';

/**
 * What every request of the node's web faces goes through (DICOMweb, the dose dashboard's API), as
 * at the gateway: a request id, `no-store`, the bearer token checked (libs/access, same answers as
 * the FHIR face), what the face asks of the principal beyond it, the consent view caught up (else
 * 503), and one BALP AuditEvent when it ends — Query for searches, Read for retrievals — naming the
 * studies and patients whose data left the node. "Ends" is the response's 'close', which also comes
 * when the client leaves mid-answer (then no 'finish' ever does): such an answer is audited as cut
 * off, with the studies whose data had begun to leave.
 */

/** What a request is, for its AuditEvent: DICOMweb reads and searches; a store or a delete (refused: the node is read-only here) is audited as the attempt it is. */
export type DicomwebInteraction = 'search-type' | 'read' | 'create' | 'update' | 'delete';

const WRITES: Readonly<Record<string, DicomwebInteraction>> = { POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete' };

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
  // As the router matches: any case, a trailing slash (a search audited as a read lost its query).
  interactionOf: (req) => WRITES[req.method] ?? (/\/(studies|series|instances)\/?$/i.test(req.path) ? 'search-type' : 'read'),
};

export const principalOf = (res: Response): Principal => res.locals.principal as Principal;

/** The StudyInstanceUID a retrieve's path names (`/studies/<uid>/…`), when it is one. */
export function requestedStudy(path: string): string | undefined {
  const uid = /\/studies\/([0-9.]+)(?:\/|$)/i.exec(path)?.[1];
  return uid !== undefined && dicomUidSchema.safeParse(uid).success ? uid : undefined;
}

export function audited(res: Response): Audited {
  return res.locals.audited as Audited;
}

export interface RequestContextDeps {
  verifier: Pick<OidcVerifier, 'verify'>;
  /** The consent decisions' view: no answer (503) until it has read its topic to the end, nor while it does not follow it. */
  consentView: Pick<CatchingUp, 'isReady'>;
  /** The index: not ready while a rebuilt one reads the study topic again (IndexCatchUp). */
  index: Pick<CatchingUp, 'isReady'>;
  /** Bad tokens counted per client address (429 past the limit); undefined: no limit (said explicitly, so that no wiring forgets it). */
  failedTokens: FailedTokens | undefined;
  publicBaseUrl: string;
  /** Where AuditEvents go; `isFull`: they cannot be recorded now, and requests are refused (503). */
  audit: { enqueue: (event: AuditEvent) => void; isFull?: () => boolean };
  logger: Logger;
}

/** Why an answer that began did not reach its end, for its AuditEvent (set where the server cuts it off). */
export interface CutOff {
  outcome: '4' | '8';
  description: string;
}

export const CLIENT_LEFT: CutOff = { outcome: '4', description: 'The client closed the connection before the end of the answer' };

/** Notes that the server itself is cutting the answer off (a failure after its headers went out). */
export function noteCutOff(res: Response, description: string): void {
  res.locals.cutOff = { outcome: '8', description } satisfies CutOff;
}

export function requestContext(deps: RequestContextDeps, face: RequestFace = DICOMWEB_FACE) {
  const publicOrigin = new URL(deps.publicBaseUrl).origin;
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const requestId = typeof req.headers['x-request-id'] === 'string' && /^[\w\-.]{1,128}$/.test(req.headers['x-request-id']) ? req.headers['x-request-id'] : randomUUID();
    res.set('x-request-id', requestId);
    // Patient data: never kept by a shared cache or the browser's disk cache.
    res.set('cache-control', 'no-store');
    // JSON, CSV and images are what they say they are: never sniffed into a page.
    res.set('x-content-type-options', 'nosniff');
    refuseWhileAuditFull(deps.audit, res);
    const record: Audited = { interaction: face.interactionOf(req), studies: [] };
    res.locals.audited = record;
    const started = Date.now();
    let refusal: string | undefined;
    let finished = false;
    res.once('finish', () => {
      finished = true;
    });
    // 'close' comes once per response: after 'finish' when the answer went out whole, and alone when
    // the connection closed before its end (the client left, or the server destroyed the response).
    res.once('close', () => {
      const principal = res.locals.principal as Principal | undefined;
      // Named when their data began to leave: a 2xx/3xx answer whose head went out. A failed
      // retrieve names the study it asked for (by the UID the client sent, never its patient), so
      // that the audit trail shows attempts on a study as well as accesses.
      const studies = res.statusCode < 400 && res.headersSent ? record.studies : [];
      const attempted = res.statusCode >= 400 && record.interaction === 'read' ? requestedStudy(req.path) : undefined;
      const cutOff = finished ? undefined : ((res.locals.cutOff as CutOff | undefined) ?? CLIENT_LEFT);
      const event = buildAuditEvent({
        interaction: record.interaction,
        recorded: new Date(),
        status: res.statusCode,
        description: refusal,
        principal,
        clientAddress: req.socket.remoteAddress ?? 'unknown',
        gatewayBaseUrl: deps.publicBaseUrl,
        serverDisplay: face.serverDisplay,
        query: record.interaction === 'search-type' ? `GET ${publicOrigin}${req.originalUrl}` : undefined,
        studies: attempted ? [attempted] : studies.map((study) => study.studyUid),
        patientIdentifiers: [...new Map(studies.flatMap(StudyIndexDb.patientOf).map((id) => [`${id.system}|${id.value}`, id])).values()],
        patients: [],
        requestId,
      });
      // A cut-off answer is a failure whatever its status line said (a 200 whose stream stopped).
      deps.audit.enqueue(cutOff && event.outcome === '0' ? { ...event, outcome: cutOff.outcome, outcomeDesc: `${cutOff.description} (${res.headersSent ? `HTTP ${res.statusCode} begun` : 'before it began'})` } : event);
      deps.logger[res.statusCode >= 400 || cutOff ? 'info' : 'debug'](
        { requestId, interaction: record.interaction, status: res.statusCode, complete: !cutOff, studies: studies.length, clientId: principal?.clientId, ms: Date.now() - started },
        face.logMessage,
      );
    });
    try {
      const principal = await authenticateBearer(req, res, deps.verifier, deps.publicBaseUrl, deps.logger, deps.failedTokens);
      res.locals.principal = principal;
      face.authorize?.(principal, res);
      requireConsentReady(deps.consentView, res);
      requireIndexReady(deps.index, res);
      next();
    } catch (error) {
      // Why the token was refused (or the client throttled, or consent not loaded), for the AuditEvent's outcomeDesc.
      refusal = isOutcomeError(error) ? error.message : undefined;
      next(error);
    }
  };
}
