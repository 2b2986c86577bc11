// The timer that removes brokers whose lease ran out. The decision is the registry's; this
// only supplies the time, logs each expiry and counts it.
import type { Clock } from '@rmq/base';
import type { Logger } from '@rmq/observability';
import type { RouteRegistry } from '@rmq/routing';
import type { NameServerMetrics } from './name-server-metrics';

export interface LeaseExpiryOptions {
  routes: RouteRegistry;
  clock: Clock;
  intervalMs: number;
  log: Logger;
  metrics: NameServerMetrics;
}

export function startLeaseExpiry(options: LeaseExpiryOptions): { stop(): void } {
  const { routes, clock, log, metrics } = options;
  const timer = setInterval(() => {
    const nowMs = clock.nowMs();
    for (const broker of routes.expire(nowMs)) {
      metrics.expiredBrokers.inc();
      log.warn('broker lease expired', {
        ...broker.identity,
        endpoint: broker.endpoint,
        lastHeartbeatMs: broker.lastHeartbeatMs,
        silentMs: nowMs - broker.lastHeartbeatMs,
      });
    }
  }, options.intervalMs);
  return { stop: () => clearInterval(timer) };
}
