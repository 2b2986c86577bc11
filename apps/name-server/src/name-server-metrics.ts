// Prometheus series of the name server. Gauges read the registry when scraped, so they can
// never drift from it; counters are bumped by the handlers and the expiry loop.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RouteRegistry } from '@rmq/routing';

export interface NameServerMetrics {
  registrations: Counter<'outcome'>;
  expiredBrokers: Counter;
  /** MessagingService calls of clients using the name server as their access point. */
  clientRequests: Counter<'method' | 'code'>;
}

export function createNameServerMetrics(metrics: Registry, routes: RouteRegistry): NameServerMetrics {
  new Gauge({
    name: 'rmq_namesrv_live_brokers',
    help: 'Brokers whose lease has not run out.',
    registers: [metrics],
    collect() {
      this.set(routes.stats().liveBrokerCount);
    },
  });
  new Gauge({
    name: 'rmq_namesrv_topics',
    help: 'Distinct topics held by at least one live broker.',
    registers: [metrics],
    collect() {
      this.set(routes.stats().topicCount);
    },
  });
  return {
    registrations: new Counter({
      name: 'rmq_namesrv_registrations_total',
      help: 'RegisterBroker calls, by outcome (new, renewed).',
      labelNames: ['outcome'],
      registers: [metrics],
    }),
    clientRequests: new Counter({
      name: 'rmq_namesrv_client_requests_total',
      help: 'MessagingService calls from clients that use the name server as their access point, by method and status code.',
      labelNames: ['method', 'code'],
      registers: [metrics],
    }),
    expiredBrokers: new Counter({
      name: 'rmq_namesrv_expired_brokers_total',
      help: 'Brokers removed because their lease ran out.',
      registers: [metrics],
    }),
  };
}
