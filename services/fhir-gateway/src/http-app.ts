import { randomUUID } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { AuditEvent, CapabilityStatement } from '@medplum/fhirtypes';
import { Histogram, type Registry } from 'prom-client';
import {
  badGateway,
  forbidden,
  isOutcomeError,
  methodNotAllowed,
  notFound,
  notFoundHandler,
  OutcomeError,
  outcomeErrorHandler,
  sendOutcome,
  type Outcome,
} from '@imaging-facade/fhir-outcomes';
import type { Logger } from '@imaging-facade/service-kit';
import { type AnyResource, type AuditedInteraction, authenticateBearer, buildAuditEvent, type ConsentLookups, type ConsentRules, filterSearchBundle, type OidcVerifier, type Principal, readVisible, SERVED_TYPES, typeAccess } from '@imaging-facade/access';
import { gatewayCapabilityStatement, smartConfiguration } from './capability';
import { rewriteBundleUrls, rewriteLocation, type Bases } from './links';
import { formatQuery, parseQuery, prepareSearch, type SearchParams } from './search-policy';
import { isOwnedBy, OWNER_TAG_SYSTEM, ownerTag, prepareSubscription } from './subscription-policy';
import { Upstream, type UpstreamResponse } from '@imaging-facade/fhir';

export interface GatewayDeps {
  publicBaseUrl: string;
  upstream: Upstream;
  verifier: Pick<OidcVerifier, 'verify' | 'discovery'>;
  consent: { rules: ConsentRules; lookups: ConsentLookups; isReady: () => boolean };
  audit: { enqueue: (event: AuditEvent) => void };
  logger: Logger;
  metrics: Registry;
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const CAPABILITY_MAX_AGE_MS = 5 * 60_000;

/** What one request did, for its AuditEvent and its log line. */
interface Exchange {
  interaction: AuditedInteraction;
  resourceType?: string | undefined;
  principal?: Principal | undefined;
  resource?: string | undefined;
  query?: string | undefined;
  cleanedQuery?: string | undefined;
  patients: string[];
  returned?: number | undefined;
}

/**
 * The FHIR endpoint: every request is authenticated, authorized against its SMART scopes,
 * restricted to the patient in context, filtered by consent, answered with the gateway's own
 * links, and audited.
 */
export function createFhirRouter(deps: GatewayDeps): Router {
  const bases: Bases = { upstream: deps.upstream.baseUrl, public: deps.publicBaseUrl };
  const publicOrigin = new URL(deps.publicBaseUrl).origin;
  const duration = new Histogram({
    name: 'gateway_request_duration_seconds',
    help: 'FHIR requests answered by the gateway, by interaction and status',
    labelNames: ['interaction', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [deps.metrics],
  });
  let capability: { at: number; statement: CapabilityStatement } | undefined;

  const router = express.Router();
  const json = express.json({ type: ['application/json', 'application/fhir+json'], limit: '64kb' });

  // Browser apps (SMART patient and EHR apps) call from other origins with bearer tokens, never
  // cookies: any origin may call, and sees the headers a FHIR client needs.
  router.use((req, res, next) => {
    res.set('access-control-allow-origin', '*');
    res.set('access-control-expose-headers', 'Location, Content-Location, ETag, Last-Modified, X-Request-Id, WWW-Authenticate');
    if (req.method === 'OPTIONS') {
      res.set('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS');
      res.set('access-control-allow-headers', 'Authorization, Content-Type, Accept, Cache-Control, Prefer, X-Request-Id');
      res.set('access-control-max-age', '600');
      res.status(204).end();
      return;
    }
    next();
  });

  router.use((req, res, next) => {
    const requestId = typeof req.headers['x-request-id'] === 'string' && /^[\w\-.]{1,128}$/.test(req.headers['x-request-id']) ? req.headers['x-request-id'] : randomUUID();
    res.locals.requestId = requestId;
    res.set('x-request-id', requestId);
    next();
  });

  // Public: what the server can do and how to get a token (SMART App Launch discovery).
  router.get('/metadata', async (_req, res) => {
    if (!capability || Date.now() - capability.at > CAPABILITY_MAX_AGE_MS) {
      const response = await deps.upstream.request('GET', 'metadata');
      if (response.status !== 200) {
        throw new OutcomeError(badGateway(`The FHIR server answered HTTP ${response.status} to metadata`));
      }
      const discovery = await deps.verifier.discovery().catch(() => undefined);
      capability = { at: Date.now(), statement: gatewayCapabilityStatement(response.body as CapabilityStatement, deps.publicBaseUrl, discovery) };
    }
    sendJson(res, 200, capability.statement);
  });
  router.get('/.well-known/smart-configuration', async (_req, res) => {
    try {
      res.json(smartConfiguration(await deps.verifier.discovery()));
    } catch {
      throw new OutcomeError(badGateway('The identity provider could not be reached'));
    }
  });

  const authenticate = (req: Request, res: Response): Promise<Principal> => authenticateBearer(req, res, deps.verifier, deps.publicBaseUrl, deps.logger);

  const refusal = (res: Response, reason: string): OutcomeError => {
    res.set('www-authenticate', `Bearer realm="${deps.publicBaseUrl}", error="insufficient_scope"`);
    return new OutcomeError(forbidden(reason));
  };

  const requireConsentView = (): void => {
    if (!deps.consent.isReady()) {
      throw new OutcomeError({ ...badGateway('Consent decisions are not loaded yet; try again shortly'), status: 503 });
    }
  };

  /** Runs a FHIR interaction, then logs and audits it whatever its outcome. */
  const audited =
    (interaction: AuditedInteraction, handle: (req: Request, res: Response, exchange: Exchange) => Promise<void>) =>
    async (req: Request, res: Response): Promise<void> => {
      const started = process.hrtime.bigint();
      const exchange: Exchange = { interaction, patients: [], resourceType: req.params.type as string | undefined };
      let status = 500;
      let description: string | undefined;
      try {
        exchange.principal = await authenticate(req, res);
        requireConsentView();
        await handle(req, res, exchange);
        status = res.statusCode;
      } catch (error) {
        status = isOutcomeError(error) ? error.status : 500;
        description = isOutcomeError(error) ? error.message : 'Internal server error';
        throw error;
      } finally {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        duration.observe({ interaction, status: String(status) }, seconds);
        // Every access is in the audit trail; the log keeps the failures at info, the rest at debug.
        deps.logger[status >= 400 ? 'info' : 'debug'](
          {
            requestId: res.locals.requestId,
            interaction,
            resourceType: exchange.resourceType,
            status,
            returned: exchange.returned,
            clientId: exchange.principal?.clientId,
            ms: Math.round(seconds * 10_000) / 10,
          },
          'fhir request',
        );
        deps.audit.enqueue(
          buildAuditEvent({
            interaction,
            recorded: new Date(),
            status,
            description,
            principal: exchange.principal,
            clientAddress: req.socket.remoteAddress ?? 'unknown',
            gatewayBaseUrl: deps.publicBaseUrl,
            query: exchange.query,
            cleanedQuery: exchange.cleanedQuery,
            resource: exchange.resource,
            patients: exchange.patients,
            requestId: res.locals.requestId as string,
          }),
        );
      }
    };

  const search = async (req: Request, res: Response, exchange: Exchange, params: SearchParams): Promise<void> => {
    const type = req.params.type as string;
    const principal = exchange.principal as Principal;
    exchange.query = `${req.method} ${publicOrigin}${req.originalUrl}${req.method === 'POST' ? `?${formatQuery(params)}` : ''}`;
    if (!SERVED_TYPES.has(type)) {
      throw new OutcomeError(notFound(`${type} is not served by this gateway`));
    }
    const access = typeAccess(principal, type, 'search');
    if (!access.allowed) {
      throw refusal(res, access.reason);
    }
    const sent = prepareSearch(type, params, access, principal);
    if (type === 'Subscription') {
      sent.push(['_tag', `${OWNER_TAG_SYSTEM}|${ownerTag(principal)}`]);
    }
    exchange.cleanedQuery = `${type}?${formatQuery(sent)}`;
    const response = await deps.upstream.request('GET', exchange.cleanedQuery, { headers: Upstream.forwardedHeaders(req.headers) });
    await answerBundle(res, response, exchange, type === 'Subscription');
  };

  const answerBundle = async (res: Response, response: UpstreamResponse, exchange: Exchange, ownedOnly = false): Promise<void> => {
    if (response.status !== 200) {
      relayFailure(res, response);
      return;
    }
    const bundle = response.body as { resourceType?: string; entry?: Array<{ resource?: AnyResource; search?: { mode?: string } }> };
    if (bundle?.resourceType !== 'Bundle') {
      throw new OutcomeError(badGateway('The FHIR server did not answer a Bundle'));
    }
    const principal = exchange.principal as Principal;
    let filtered;
    if (ownedOnly) {
      const tag = ownerTag(principal);
      bundle.entry = (bundle.entry ?? []).filter((entry) => entry.resource?.resourceType === 'Subscription' && isOwnedBy(entry.resource, tag));
      filtered = { value: bundle, patients: [] as string[] };
    } else {
      filtered = await filterSearchBundle(bundle as Parameters<typeof filterSearchBundle>[0], principal, deps.consent);
    }
    rewriteBundleUrls(filtered.value as Parameters<typeof rewriteBundleUrls>[0], bases);
    exchange.patients = filtered.patients;
    exchange.returned = (filtered.value as { entry?: unknown[] }).entry?.length ?? 0;
    sendJson(res, 200, filtered.value);
  };

  /** A 4xx of the FHIR server reaches the client as it is (its OperationOutcome); anything else is a 502. */
  const relayFailure = (res: Response, response: UpstreamResponse): void => {
    const body = response.body as { resourceType?: string } | undefined;
    if (response.status >= 400 && response.status < 500 && response.status !== 401 && response.status !== 403 && body?.resourceType === 'OperationOutcome') {
      throw new OutcomeError({ status: response.status, outcome: body as Outcome['outcome'] });
    }
    deps.logger.warn({ requestId: res.locals.requestId, upstreamStatus: response.status }, 'the FHIR server failed');
    throw new OutcomeError(badGateway(`The FHIR server answered HTTP ${response.status}`));
  };

  // Paging: the links of a search answer point here (`[base]?_getpages=…`); every resource of the
  // page is checked again, so a link that reaches another token shows it nothing it may not see.
  router.get(
    '/',
    audited('search-type', async (req, res, exchange) => {
      const query = req.originalUrl.slice(req.originalUrl.indexOf('?') + 1);
      const params = new URLSearchParams(query);
      if (!params.has('_getpages') || req.originalUrl.indexOf('?') < 0) {
        throw new OutcomeError(notFound('System-level search is not supported; search a resource type'));
      }
      exchange.query = `GET ${publicOrigin}${req.originalUrl}`;
      exchange.cleanedQuery = `?${query}`;
      const response = await deps.upstream.request('GET', `?${query}`, { headers: Upstream.forwardedHeaders(req.headers) });
      await answerBundle(res, response, exchange);
    }),
  );

  router.get(
    '/:type',
    audited('search-type', (req, res, exchange) => {
      const raw = req.originalUrl.indexOf('?') >= 0 ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
      return search(req, res, exchange, parseQuery(raw));
    }),
  );

  router.post(
    '/:type/_search',
    express.urlencoded({ extended: false, limit: '64kb' }),
    audited('search-type', (req, res, exchange) => {
      const raw = req.originalUrl.indexOf('?') >= 0 ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
      const fromBody = Object.entries((req.body ?? {}) as Record<string, string | string[]>).flatMap(([name, value]) =>
        (Array.isArray(value) ? value : [value]).map((item) => [name, String(item)] as [string, string]),
      );
      return search(req, res, exchange, [...parseQuery(raw), ...fromBody]);
    }),
  );

  router.get(
    '/:type/:id',
    audited('read', async (req, res, exchange) => {
      const type = req.params.type as string;
      const id = req.params.id as string;
      const principal = exchange.principal as Principal;
      if (!SERVED_TYPES.has(type) || !ID.test(id)) {
        throw new OutcomeError(notFound(`${type}/${id} is not known`));
      }
      exchange.resource = `${type}/${id}`;
      const access = typeAccess(principal, type, 'read');
      if (!access.allowed) {
        throw refusal(res, access.reason);
      }
      if (access.restriction === 'patient' && type === 'Patient' && id !== access.patientId) {
        throw new OutcomeError(notFound(`${type}/${id} is not known`));
      }
      const response = await deps.upstream.request('GET', `${type}/${id}`, { headers: Upstream.forwardedHeaders(req.headers) });
      if (response.status === 404 || response.status === 410) {
        throw new OutcomeError(notFound(`${type}/${id} is not known`));
      }
      if (response.status !== 200) {
        relayFailure(res, response);
      }
      const resource = response.body as AnyResource;
      if (type === 'Subscription') {
        if (!isOwnedBy(resource, ownerTag(principal))) {
          throw new OutcomeError(notFound(`${type}/${id} is not known`));
        }
      } else {
        const visible = await readVisible(resource, principal, deps.consent);
        if (!visible.value) {
          throw new OutcomeError(notFound(`${type}/${id} is not known`));
        }
        exchange.patients = visible.patients;
      }
      exchange.returned = 1;
      passValidators(res, response);
      sendJson(res, 200, resource);
    }),
  );

  router.post(
    '/Subscription',
    json,
    audited('create', async (req, res, exchange) => {
      const principal = exchange.principal as Principal;
      const access = typeAccess(principal, 'Subscription', 'create');
      if (!access.allowed) {
        throw refusal(res, access.reason);
      }
      const subscription = prepareSubscription(req.body, principal, ownerTag(principal));
      exchange.query = `POST ${publicOrigin}${req.originalUrl} criteria=${req.body?.criteria ?? ''}`;
      exchange.cleanedQuery = subscription.criteria;
      const response = await deps.upstream.request('POST', 'Subscription', { body: subscription });
      if (response.status !== 201 && response.status !== 200) {
        relayFailure(res, response);
      }
      const created = response.body as AnyResource;
      exchange.resource = `Subscription/${created.id ?? ''}`;
      const location = response.headers.location;
      if (typeof location === 'string') {
        res.set('location', rewriteLocation(location, bases));
      }
      passValidators(res, response);
      sendJson(res, 201, created);
    }),
  );

  router.delete(
    '/Subscription/:id',
    audited('delete', async (req, res, exchange) => {
      const principal = exchange.principal as Principal;
      const id = req.params.id as string;
      if (!ID.test(id)) {
        throw new OutcomeError(notFound(`Subscription/${id} is not known`));
      }
      exchange.resource = `Subscription/${id}`;
      const access = typeAccess(principal, 'Subscription', 'delete');
      if (!access.allowed) {
        throw refusal(res, access.reason);
      }
      const existing = await deps.upstream.request('GET', `Subscription/${id}`);
      if (existing.status !== 200 || !isOwnedBy(existing.body as AnyResource, ownerTag(principal))) {
        throw new OutcomeError(notFound(`Subscription/${id} is not known`));
      }
      const response = await deps.upstream.request('DELETE', `Subscription/${id}`);
      if (response.status >= 300) {
        relayFailure(res, response);
      }
      res.status(204).end();
    }),
  );

  // Everything else that would write: the index is read-only through the gateway.
  router.all(['/', '/:type', '/:type/:id', '/:type/:id/*rest'], (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      next();
      return;
    }
    sendOutcome(res, methodNotAllowed(`${req.method} is not allowed here: the gateway only writes Subscriptions`));
  });

  router.use(notFoundHandler);
  router.use(outcomeErrorHandler(deps.logger));
  return router;
}

function passValidators(res: Response, response: UpstreamResponse): void {
  for (const name of ['etag', 'last-modified']) {
    const value = response.headers[name];
    if (typeof value === 'string') {
      res.set(name, value);
    }
  }
}

function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).type('application/fhir+json').send(JSON.stringify(body));
}

/** The whole HTTP application: the FHIR router at the public base's path (ops endpoints are added by service-kit). */
export function createGatewayApp(deps: GatewayDeps, extraRoutes: Array<{ path: string; router: Router }> = []): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  for (const { path, router } of extraRoutes) {
    app.use(path, router, outcomeErrorHandler(deps.logger));
  }
  app.use(new URL(deps.publicBaseUrl).pathname.replace(/\/+$/, '') || '/', createFhirRouter(deps));
  return app;
}
