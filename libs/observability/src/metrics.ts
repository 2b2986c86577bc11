// A registry per app, with default process metrics and the labels every series carries.
import { Registry, collectDefaultMetrics } from 'prom-client';

export function createRegistry(labels: Record<string, string>): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}
