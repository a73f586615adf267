import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, type Router } from 'express';
import { parsePatientKey, patientKey } from '@imaging-facade/events';
import { FhirError, isRetryableFhirError } from '@imaging-facade/fhir';
import { isOutcomeError } from '@imaging-facade/fhir-outcomes';
import type { Pseudonymizer } from '@imaging-facade/consent';
import { errorMessage, type FailedSignIns, type Logger } from '@imaging-facade/service-kit';
import type { AccountVerifier } from '../auth/accounts';
import { auditTrail, setAudit } from '../api/audit';
import { describe, patientConsent, type ConsentDesk } from '../decisions/patient-consent';
import { DecisionChangedError, SeveralPatientRecordsError, StudyOfAnotherPatientError } from '../decisions/decisions';
import { parseConsentId } from '../api/routes';
import { parsePatientSearch, parseRecordablePatientKey, parseRevokeQuery } from '../api/requests';
import { isLanguage, messages, negotiateLanguage, type Language } from './i18n';
import { LANGUAGE_COOKIE, LOGIN_COOKIE, readCookie, sameSecret, SESSION_COOKIE, setCookie, token, type DeskSession, type SessionStore } from './session';
import { DESK_CSS, loginPage, messagePage, patientHref, patientPage, searchPage, type LoginProblem, type PageContext } from './views';

export interface DeskOptions {
  desk: ConsentDesk;
  verifier: AccountVerifier;
  /** Failed sign-ins, shared with the API: past the limits, 429 whatever the password. */
  failedSignIns: FailedSignIns;
  sessions: SessionStore;
  logger: Logger;
  /** Names a patient in the audit lines (the node's log pseudonym key). */
  pseudonymize: Pseudonymizer;
  isReady: () => boolean;
}

/**
 * The reception-desk page: server-rendered HTML, no script. Sign-in opens a session (cookie
 * HttpOnly, SameSite=Strict); every form post carries the session's CSRF token and must come from
 * this origin.
 */
export function deskPages(options: DeskOptions): Router {
  const { desk, sessions } = options;
  const router = express.Router();

  router.get('/assets/desk.css', (_req, res) => {
    res.type('text/css').set('Cache-Control', 'public, max-age=3600').send(DESK_CSS);
  });
  router.get('/favicon.ico', (_req, res) => {
    res.status(204).end();
  });

  router.use(pageHeaders);
  // Before the body parser: a body it refuses still gets a page in the user's language.
  router.use((req, res, next) => {
    res.locals.language = pickLanguage(req, res);
    next();
  });
  router.use(auditTrail(options.logger, 'desk', options.pseudonymize));
  router.use(express.urlencoded({ extended: false, limit: '8kb' }));
  router.use(sameOriginPosts);

  router.get('/login', (req, res) => {
    renderLogin(req, res, req.query.expired === '1' ? 'expired' : undefined);
  });

  router.post('/login', async (req, res) => {
    const body = formOf(req);
    const expected = readCookie(req, LOGIN_COOKIE);
    const user = typeof body.user === 'string' ? body.user.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    setAudit(res, { action: 'sign-in', ...(user ? { attemptedUser: options.verifier.auditName(user) } : {}) });
    if (!expected || !sameSecret(expected, body._login)) {
      res.status(403);
      renderLogin(req, res, 'expired');
      return;
    }
    const client = req.ip ?? 'unknown';
    const attempt = await options.failedSignIns.attempt(client, user || undefined, async () => (user ? options.verifier.verify(user, password) : undefined));
    if (!attempt.allowed) {
      res.status(429).set('Retry-After', String(attempt.retryAfterSeconds));
      setAudit(res, { action: `sign-in refused (${attempt.lockedOut} locked out)`, ...(user ? { attemptedUser: options.verifier.auditName(user) } : {}) });
      renderLogin(req, res, 'locked-out', user);
      return;
    }
    const verified = attempt.value;
    if (!verified) {
      res.status(401);
      renderLogin(req, res, 'wrong', user);
      return;
    }
    const session = sessions.create(verified);
    res.locals.user = verified;
    setCookie(req, res, LOGIN_COOKIE, '', 0);
    setCookie(req, res, SESSION_COOKIE, session.id);
    res.redirect(303, '/');
  });

  // Everything below needs a signed-in desk user.
  router.use((req, res, next) => {
    const session = sessions.current(req);
    if (!session) {
      res.redirect(303, req.method === 'GET' && req.path === '/' && Object.keys(req.query).length === 0 ? '/login' : '/login?expired=1');
      return;
    }
    res.locals.session = session;
    res.locals.user = session.user;
    next();
  });

  router.post('/logout', requireCsrf, (req, res) => {
    setAudit(res, { action: 'sign-out' });
    sessions.destroy(res.locals.session as DeskSession);
    setCookie(req, res, SESSION_COOKIE, '', 0);
    res.redirect(303, '/login');
  });

  router.use((req, res, next) => {
    if (!options.isReady()) {
      const t = messages(res.locals.language as Language);
      res.status(503).send(messagePage(pageContext(req, res), t.title, t.notReady));
      return;
    }
    next();
  });

  router.get('/', async (req, res) => {
    const form = {
      identifier: stringParam(req.query.identifier),
      name: stringParam(req.query.name),
      birthdate: stringParam(req.query.birthdate),
    };
    const context = pageContext(req, res);
    if (!form.identifier && !form.name && !form.birthdate) {
      res.send(searchPage(context, form));
      return;
    }
    setAudit(res, { action: 'search-patients' });
    let query;
    try {
      query = parsePatientSearch(form);
    } catch (error) {
      res.status(400).send(searchPage(context, form, { patients: [], problem: isOutcomeError(error) ? error.message : errorMessage(error) }));
      return;
    }
    const patients = await desk.directory.search(query);
    setAudit(res, { action: 'identifier' in query ? 'search-patients-by-identifier' : 'search-patients-by-name', patientKeys: patients.map((patient) => patient.key) });
    if (patients.length === 1 && 'identifier' in query) {
      res.redirect(303, patientHref(patients[0]!.key));
      return;
    }
    const recordFor = 'identifier' in query ? patientKey('system' in query.identifier ? query.identifier : { system: desk.defaultPatientIdSystem, value: query.identifier.value }) : undefined;
    res.send(searchPage(context, form, { patients, ...(recordFor ? { recordFor } : {}) }));
  });

  router.get('/patient', async (req, res) => {
    const patient = parsePatientKey(stringParam(req.query.id) ?? '');
    const context = pageContext(req, res);
    const t = messages(context.language);
    if (!patient) {
      res.status(400).send(messagePage(context, t.unknownPatient, t.unknownPatient));
      return;
    }
    setAudit(res, { action: 'read-decision', patientKey: patientKey(patient) });
    const consent = await patientConsent(desk, patient);
    // A patient nobody knows yet (the exam is to come) gets an empty page: the desk may record for them.
    const shown = consent ?? describe(desk.policy, patient, undefined, { patient, decisions: [], updatedAt: new Date().toISOString() });
    const flash = {
      done: stringParam(req.query.done),
      notAnnounced: req.query.pending === '1',
      failed: req.query.failed === '1',
    };
    res.send(patientPage(context, shown, flash));
  });

  router.post('/patient/decision', requireCsrf, async (req, res) => {
    const body = formOf(req);
    const patient = parseRecordablePatientKey(body.patient);
    const action = body.action;
    const context = pageContext(req, res);
    if (!patient || (action !== 'permit' && action !== 'deny' && action !== 'revoke')) {
      const t = messages(context.language);
      res.status(400).send(messagePage(context, t.unknownPatient, t.unknownPatient));
      return;
    }
    const key = patientKey(patient);
    const scope = typeof body.study === 'string' && body.study ? 'study' : 'all';
    setAudit(res, { action: action === 'revoke' ? `revoke-${scope}` : `record-${action}-${scope}`, patientKey: key });
    const study = parseRevokeQuery(scope === 'study' ? { study: body.study } : {});
    const user = (res.locals.session as DeskSession).user;
    try {
      const result =
        action === 'revoke'
          ? await desk.decisions.revoke({ patient, study, user, expectedConsentId: parseConsentId(body.consent) })
          : await desk.decisions.record({ patient, provision: action, study, user });
      setAudit(res, {
        action: action === 'revoke' ? `revoke-${scope}` : `record-${action}-${scope}`,
        patientKey: key,
        ...(result.consentId ? { consentId: result.consentId } : {}),
        inactivated: result.inactivated,
      });
      res.redirect(303, `${patientHref(key)}&done=${action}-${scope}${result.announced ? '' : '&pending=1'}`);
    } catch (error) {
      if (error instanceof DecisionChangedError || error instanceof SeveralPatientRecordsError) {
        // A page left open: another desk recorded a decision since; or an agreement while several
        // Patient records carry the identifier. Shown again as it is now, saying why nothing was done.
        const consent = await patientConsent(desk, patient);
        const flash = error instanceof DecisionChangedError ? { changedMeanwhile: true } : { severalPatientRecords: true };
        res.status(409).send(patientPage(context, consent ?? describe(desk.policy, patient, undefined, { patient, decisions: [], updatedAt: new Date().toISOString() }), flash));
        return;
      }
      if (error instanceof StudyOfAnotherPatientError) {
        const t = messages(context.language);
        res.status(422).send(messagePage(context, t.title, t.studyOfAnotherPatient));
        return;
      }
      if (error instanceof FhirError && isRetryableFhirError(error)) {
        options.logger.warn({ reason: error.message }, 'a desk decision failed: FHIR did not answer');
        res.redirect(303, `${patientHref(key)}&failed=1`);
        return;
      }
      throw error;
    }
  });

  router.use(((error, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const t = messages(languageOf(res));
    if (isOutcomeError(error) && error.status < 500) {
      // A form the desk refused (a study that is not a UID).
      res.status(error.status).send(messagePage(pageContext(req, res), t.title, error.message));
      return;
    }
    const refusedBody = (error as { type?: unknown; status?: unknown }).type !== undefined && typeof (error as { status?: unknown }).status === 'number' ? ((error as { status: number }).status) : undefined;
    if (refusedBody !== undefined && refusedBody >= 400 && refusedBody < 500) {
      // What the body parser refused (too large, an unknown charset): its own status, never a 500.
      res.status(refusedBody).send(messagePage(pageContext(req, res), t.title, t.error));
      return;
    }
    const unavailable = error instanceof FhirError && isRetryableFhirError(error);
    if (!unavailable) {
      options.logger.error({ err: error }, 'unhandled error on a desk page');
    }
    res.status(unavailable ? 502 : 500).send(messagePage(pageContext(req, res), t.title, t.error));
  }) as ErrorRequestHandler);

  return router;
}

function renderLogin(req: Request, res: Response, problem?: LoginProblem, user?: string): void {
  // Kept while it lives, so that a second sign-in page (another tab) does not invalidate the first.
  const existing = readCookie(req, LOGIN_COOKIE);
  const loginToken = existing && /^[A-Za-z0-9_-]{43}$/.test(existing) ? existing : token();
  setCookie(req, res, LOGIN_COOKIE, loginToken, 600);
  res.send(loginPage(pageContext(req, res), loginToken, problem, user));
}

/** The page's language; French (the desk's default) when the request failed before it was chosen. */
function languageOf(res: Response): Language {
  return (res.locals.language as Language | undefined) ?? 'fr';
}

function pageContext(req: Request, res: Response): PageContext {
  const session = res.locals.session as DeskSession | undefined;
  return {
    language: languageOf(res),
    path: req.originalUrl,
    ...(session ? { user: session.user, csrfToken: session.csrfToken } : {}),
  };
}

/** `?lang=` switches and is remembered in a cookie; otherwise Accept-Language decides. */
function pickLanguage(req: Request, res: Response): Language {
  const asked = req.query.lang;
  if (isLanguage(asked)) {
    setCookie(req, res, LANGUAGE_COOKIE, asked, 365 * 24 * 3600);
    return asked;
  }
  const remembered = readCookie(req, LANGUAGE_COOKIE);
  return isLanguage(remembered) ? remembered : negotiateLanguage(req.headers['accept-language']);
}

/** Pages hold patient data: never cached, never framed, no script, nothing loaded from elsewhere. */
const pageHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'Content-Security-Policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
  next();
};

/** A form post whose Origin (when the browser sends one) is not this site is refused. */
const sameOriginPosts: RequestHandler = (req, res, next) => {
  const origin = req.headers.origin;
  if (req.method === 'POST' && origin && origin !== 'null') {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    if (host !== req.headers.host) {
      res.status(403).type('text/plain').send('Cross-site form posts are refused');
      return;
    }
  }
  next();
};

const requireCsrf: RequestHandler = (req, res, next) => {
  const session = res.locals.session as DeskSession;
  if (!sameSecret(session.csrfToken, formOf(req)._csrf)) {
    res.status(403).type('text/plain').send('Invalid form token: reload the page and try again');
    return;
  }
  next();
};

function stringParam(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim().length > 0 ? value.trim() : undefined;
}

/** The posted form; empty when the request sent none, or not as a form (Express leaves `body` unset then: a 500 before 2026-12-07). */
function formOf(req: Request): Record<string, unknown> {
  return (req.body ?? {}) as Record<string, unknown>;
}
