// Counts what a slave does with the client calls only the master can serve, so the share of
// calls that take the extra hop through a slave can be measured (decisions.md, failover cost).
import { Counter, type Registry } from 'prom-client';
import type { ForwardOutcome } from './master-forwarder';

export interface ForwardMetrics {
  forwarded(method: string, outcome: ForwardOutcome): void;
  refused(method: string): void;
}

export function createForwardMetrics(registry: Registry): ForwardMetrics {
  const forwarded = new Counter({
    name: 'rmq_broker_forwarded_requests_total',
    help: 'client calls this broker, not being master, sent on to its master, by method and outcome (forwarded, no_master after the hold, served_locally after a promotion)',
    labelNames: ['method', 'outcome'],
    registers: [registry],
  });
  const refused = new Counter({
    name: 'rmq_broker_forwarded_requests_refused_total',
    help: 'calls another broker forwarded here while this broker was not master (answered HA_NOT_AVAILABLE at once), by method',
    labelNames: ['method'],
    registers: [registry],
  });
  return {
    forwarded: (method, outcome) => forwarded.inc({ method, outcome }),
    refused: (method) => refused.inc({ method }),
  };
}
