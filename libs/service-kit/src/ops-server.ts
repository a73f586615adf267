import type { Server } from 'node:http';
import express from 'express';
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
}

export interface OpsServer {
  port: number;
  close: () => Promise<void>;
}

/**
 * `/healthz` (liveness: answers while the process runs), `/readyz` (probes every dependency),
 * `/metrics` (Prometheus text format).
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const app = options.app ?? express();
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const report = await runReadinessChecks(options.readiness, options.readinessTimeoutMs ?? 3000);
    res.status(report.ready ? 200 : 503).json(report);
  });
  app.get('/metrics', async (_req, res) => {
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
