import { Pool } from 'undici';
import { badGateway, OutcomeError } from '@imaging-facade/fhir-outcomes';

export interface UpstreamSettings {
  /** The FHIR server's base URL, e.g. http://localhost:8080/fhir */
  baseUrl: string;
  timeoutMs: number;
  /** Keep-alive connections held open to the server. */
  connections: number;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body; undefined when the answer had none (or was not JSON). */
  body: unknown;
}

/** Request headers passed on to the FHIR server (the rest, Authorization first, stays at the gateway). */
const FORWARDED_REQUEST_HEADERS = ['cache-control', 'prefer', 'accept-language', 'x-request-id'];

/**
 * The HAPI FHIR server, over a pool of keep-alive connections (undici). Every answer is JSON and
 * is read whole: the gateway checks each resource before it shows it. A server that does not
 * answer becomes a 502 OperationOutcome.
 */
export class Upstream {
  readonly baseUrl: string;
  private readonly basePath: string;
  private readonly pool: Pool;

  constructor(settings: UpstreamSettings) {
    const url = new URL(settings.baseUrl);
    this.baseUrl = settings.baseUrl.replace(/\/+$/, '');
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, {
      connections: settings.connections,
      connectTimeout: Math.min(settings.timeoutMs, 10_000),
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
    });
  }

  /** Headers of the client's request worth passing on. */
  static forwardedHeaders(incoming: Record<string, string | string[] | undefined>): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = incoming[name];
      if (typeof value === 'string') {
        headers[name] = value;
      }
    }
    return headers;
  }

  /**
   * `path` is relative to the base: `ImagingStudy?status=available`, `Patient/1`, `?_getpages=…`
   * (empty for the base itself).
   */
  async request(method: 'GET' | 'POST' | 'DELETE', path: string, options: { headers?: Record<string, string>; body?: unknown } = {}): Promise<UpstreamResponse> {
    const target = path.startsWith('?') || path === '' ? `${this.basePath}${path}` : `${this.basePath}/${path}`;
    const headers: Record<string, string> = { accept: 'application/fhir+json', ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/fhir+json; charset=utf-8';
    }
    try {
      // The pool's headersTimeout / bodyTimeout bound the wait: no timer of our own per request.
      const response = await this.pool.request({ method, path: target, headers, body });
      const text = await response.body.text();
      let parsed: unknown;
      if (text.length > 0) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
      }
      return { status: response.statusCode, headers: response.headers, body: parsed };
    } catch (error) {
      throw new OutcomeError(badGateway(`The FHIR server did not answer (${(error as Error).name})`));
    }
  }

  /** Readiness: the server answers its CapabilityStatement. */
  async probe(): Promise<void> {
    const response = await this.request('GET', 'metadata');
    if (response.status !== 200 || (response.body as { resourceType?: unknown } | undefined)?.resourceType !== 'CapabilityStatement') {
      throw new Error(`GET metadata answered HTTP ${response.status}`);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
