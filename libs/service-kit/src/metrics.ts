import { collectDefaultMetrics, Registry } from 'prom-client';

/** A Prometheus registry per service (not the global one), with Node's process metrics. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
