import express, { type ErrorRequestHandler, type RequestHandler, type Router } from 'express';
import { patientKey } from '@imaging-facade/events';
import { FhirError, isRetryableFhirError } from '@imaging-facade/fhir';
import {
  badGateway,
  badRequest,
  notFound,
  notFoundHandler,
  OutcomeError,
  outcomeErrorHandler,
  sendOutcome,
  tooManyRequests,
  unauthorized,
  type Outcome,
} from '@imaging-facade/fhir-outcomes';
import type { Pseudonymizer } from '@imaging-facade/consent';
import type { FailedSignIns, Logger, SignInAttempt } from '@imaging-facade/service-kit';
import { credentialsDigest, type AccountVerifier } from '../auth/accounts';
import { auditTrail, setAudit } from './audit';
import type { ChangeResult } from '../decisions/decisions';
import { describe, patientConsent, type ConsentDesk } from '../decisions/patient-consent';
import { parseDecisionBody, parsePatientParam, parsePatientSearch, parseRevokeQuery } from './requests';

export interface ApiOptions {
  desk: ConsentDesk;
  verifier: AccountVerifier;
  /** Failed sign-ins, shared with the desk page: past the limits, 429 whatever the password. */
  failedSignIns: FailedSignIns;
  logger: Logger;
  /** Names a patient in the audit lines (the node's log pseudonym key). */
  pseudonymize: Pseudonymizer;
  /** False while the service is still reading Kafka at start: the API answers 503. */
  isReady: () => boolean;
}

export const BASIC_REALM = 'Imaging Facade consent desk';

/**
 * The JSON API under /api: the desk's actions for other systems (a RIS, a patient portal), with
 * HTTP Basic auth for desk accounts. Every error is an OperationOutcome.
 */
export function consentApi(options: ApiOptions): Router {
  const { desk } = options;
  const api = express.Router();
  api.use(auditTrail(options.logger, 'api', options.pseudonymize));
  // Answers name patients: never kept by a browser or a proxy.
  api.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  api.use(basicAuth(options.verifier, options.failedSignIns));
  api.use((_req, _res, next) => {
    if (!options.isReady()) {
      throw new OutcomeError(serviceUnavailable('The consent desk is starting (reading Kafka) or stopping; try again in a moment'));
    }
    next();
  });
  api.use(express.json({ limit: '16kb', type: ['application/json', 'application/*+json'] }));

  api.get('/patients', async (req, res) => {
    setAudit(res, { action: 'search-patients' });
    const query = parsePatientSearch(req.query);
    const patients = await desk.directory.search(query);
    setAudit(res, { action: 'identifier' in query ? 'search-patients-by-identifier' : 'search-patients-by-name', patientKeys: patients.map((patient) => patient.key) });
    res.json({ patients });
  });

  const readDecision: RequestHandler = async (req, res) => {
    const patient = parsePatientParam(req.params.patient ?? req.query.patient);
    setAudit(res, { action: 'read-decision', patientKey: patientKey(patient) });
    const consent = await patientConsent(desk, patient);
    if (!consent) {
      throw new OutcomeError(unknownPatient());
    }
    res.json(consent);
  };
  api.get('/patients/:patient', readDecision);
  api.get('/patients/:patient/decision', readDecision);
  api.get('/decisions', readDecision);

  api.post('/decisions', async (req, res) => {
    setAudit(res, { action: 'record-decision' });
    const command = parseDecisionBody(req.body);
    const key = patientKey(command.patient);
    setAudit(res, { action: `record-${command.provision}-${command.study ? 'study' : 'all'}`, patientKey: key });
    const result = await desk.decisions.record({ ...command, user: res.locals.user as string });
    setAudit(res, { action: `record-${command.provision}-${command.study ? 'study' : 'all'}`, patientKey: key, consentId: result.consentId!, inactivated: result.inactivated });
    res.status(result.announced ? 201 : 202).location(`/api/patients/${encodeURIComponent(key)}/decision`).json(await changeBody(desk, result));
  });

  api.delete('/patients/:patient/decision', async (req, res) => {
    const patient = parsePatientParam(req.params.patient);
    // `consent`: the Consent the caller saw in force; another one in force now is a 409, nothing revoked.
    const { consent: expected, ...scope } = req.query;
    const study = parseRevokeQuery(scope);
    const expectedConsentId = parseConsentId(expected);
    const key = patientKey(patient);
    setAudit(res, { action: `revoke-${study ? 'study' : 'all'}`, patientKey: key });
    if (!(await patientConsent(desk, patient))) {
      throw new OutcomeError(unknownPatient());
    }
    const result = await desk.decisions.revoke({ patient, study, expectedConsentId, user: res.locals.user as string });
    setAudit(res, { action: `revoke-${study ? 'study' : 'all'}`, patientKey: key, inactivated: result.inactivated });
    res.status(result.announced ? 200 : 202).json(await changeBody(desk, result));
  });

  api.use(notFoundHandler);
  api.use(fhirUnavailable);
  api.use(outcomeErrorHandler(options.logger));
  return api;
}

async function changeBody(desk: ConsentDesk, result: ChangeResult): Promise<object> {
  const summary = await desk.directory.find(result.state.patient);
  return {
    ...(result.consentId ? { consentId: result.consentId } : {}),
    inactivated: result.inactivated,
    announced: result.announced,
    consent: describe(desk.policy, result.state.patient, summary, result.state),
  };
}

/** HTTP Basic for desk accounts; without valid credentials: 401, WWW-Authenticate, OperationOutcome. */
export function basicAuth(verifier: AccountVerifier, failedSignIns: FailedSignIns): RequestHandler {
  // Calls sent at once with the same credentials (an EHR's parallel requests) share one check: each
  // would otherwise count as an attempt under way, and the sixth be refused as if locked out.
  const checking = new Map<string, Promise<SignInAttempt<string>>>();
  const attempt = (client: string, user: string, password: string): Promise<SignInAttempt<string>> => {
    const digest = credentialsDigest(user, password);
    let shared = checking.get(digest);
    if (!shared) {
      shared = failedSignIns.attempt(client, user, () => verifier.verify(user, password)).finally(() => checking.delete(digest));
      checking.set(digest, shared);
    }
    return shared;
  };
  return async (req, res, next) => {
    const credentials = parseBasic(req.headers.authorization);
    const client = req.ip ?? 'unknown';
    let user: string | undefined;
    if (credentials) {
      const checked = await attempt(client, credentials.user, credentials.password);
      if (!checked.allowed) {
        setAudit(res, { action: `sign-in refused (${checked.lockedOut} locked out)`, attemptedUser: verifier.auditName(credentials.user) });
        res.setHeader('Retry-After', String(checked.retryAfterSeconds));
        sendOutcome(res, tooManyRequests(`Too many failed sign-ins for this ${checked.lockedOut}: try again in ${checked.retryAfterSeconds} s`));
        return;
      }
      user = checked.value;
      if (!user) {
        setAudit(res, { action: 'sign-in', attemptedUser: verifier.auditName(credentials.user) });
      }
    }
    if (!user) {
      res.setHeader('WWW-Authenticate', `Basic realm="${BASIC_REALM}", charset="UTF-8"`);
      sendOutcome(res, unauthorized(credentials ? 'Wrong user name or password' : 'Sign in with a desk account (HTTP Basic authentication)'));
      return;
    }
    res.locals.user = user;
    next();
  };
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) {
    return undefined;
  }
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) } : undefined;
}

/** The FHIR server down or failing: 502 (the desk can try again), not a generic 500. */
export const fhirUnavailable: ErrorRequestHandler = (error, _req, _res, next) => {
  if (error instanceof FhirError && isRetryableFhirError(error)) {
    next(new OutcomeError(badGateway("The FHIR server did not answer: check the patient's current decision, then try again")));
    return;
  }
  next(error);
};

/**
 * The Consent a revocation expects in force (`consent`, the `consentId` the caller read): a FHIR id,
 * or absent (then whatever is in force is revoked).
 */
export function parseConsentId(value: unknown): string | undefined {
  if (value === undefined || value === '') {
    return undefined;
  }
  if (typeof value !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(value)) {
    throw new OutcomeError(badRequest('consent must be the id of the Consent in force (its consentId), once', ['consent']));
  }
  return value;
}

function unknownPatient(): Outcome {
  return notFound('No such patient: no study, no FHIR Patient and no decision for this identifier');
}

function serviceUnavailable(diagnostics: string): Outcome {
  return { status: 503, outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics }] } };
}
