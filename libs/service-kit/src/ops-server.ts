import { timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import express, { type RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from './logger';
import { runReadinessChecks, type ReadinessCheck } from './readiness';

export interface OpsServerOptions {
  port: number;
  host?: string;
  logger: Logger;
  metrics: Registry;
  readiness: readonly ReadinessCheck[];
  readinessTimeoutMs?: number;
  /** Lets a service mount its own routes (an API, a page) on the same server. */
  app?: express.Express;
  /**
   * `/readyz` and `/metrics` say what the service depends on and how it is doing: they answer
   * callers on this host (loopback) and, when set, callers that present this token as a Bearer
   * token (FACADE_OPS_TOKEN: a Prometheus or a kubelet elsewhere). Everyone else gets 404.
   */
  opsToken?: string | undefined;
}

export interface OpsServer {
  port: number;
  close: () => Promise<void>;
}

/**
 * `/healthz` (liveness: answers while the process runs, to anyone: it says nothing else),
 * `/readyz` (probes every dependency) and `/metrics` (Prometheus text format), these two for this
 * host and the ops token only.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const app = options.app ?? express();
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const internal = opsOnly(options.opsToken);
  app.get('/readyz', internal, async (_req, res) => {
    const report = await runReadinessChecks(options.readiness, options.readinessTimeoutMs ?? 3000);
    res.status(report.ready ? 200 : 503).json(report);
  });
  app.get('/metrics', internal, async (_req, res) => {
    res.type(options.metrics.contentType).send(await options.metrics.metrics());
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(options.port, options.host ?? '0.0.0.0', (error?: Error) =>
      error ? reject(error) : resolve(listening),
    );
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  options.logger.info({ port }, 'ops endpoints listening');

  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

/** Lets through callers on this host, and callers with the ops token; hides the endpoint from others. */
export function opsOnly(token: string | undefined): RequestHandler {
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  return (req, res, next) => {
    const presented = Buffer.from(req.get('authorization') ?? '');
    const tokenOk = expected !== undefined && presented.length === expected.length && timingSafeEqual(presented, expected);
    if (tokenOk || isLoopback(req.socket.remoteAddress)) {
      next();
      return;
    }
    res.status(404).json({ error: 'not found' });
  };
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}
