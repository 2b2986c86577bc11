// Prometheus series of delay and transactional messages (RocketMQ 5 has no standard names for
// these; ours follow its rocketmq_ prefix).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { TimerService, TransactionService } from '@rmq/messaging';

export interface ModelMetrics {
  timerDelivered(topic: string, latenessMs: number): void;
  timerDropped(topic: string): void;
  transactionEvent(topic: string, event: 'COMMIT' | 'ROLLBACK' | 'EXPIRED' | 'CHECK'): void;
}

export function createModelMetrics(registry: Registry, sources: { timers: () => TimerService | undefined; transactions: () => TransactionService | undefined }): ModelMetrics {
  new Gauge({
    name: 'rocketmq_transaction_open_messages',
    help: 'half messages whose transaction is neither committed nor rolled back',
    registers: [registry],
    collect() {
      const stats = sources.transactions()?.stats();
      if (stats) this.set(stats.open);
    },
  });
  const transactionEnds = new Counter({ name: 'rocketmq_transaction_ends_total', help: 'transactions ended, by outcome (commit, rollback, expired: rolled back after the last check)', labelNames: ['topic', 'outcome'], registers: [registry] });
  const transactionChecks = new Counter({ name: 'rocketmq_transaction_checks_total', help: 'checks of open transactions sent to a connected producer', labelNames: ['topic'], registers: [registry] });
  new Gauge({
    name: 'rocketmq_timer_pending_messages',
    help: 'delay messages scheduled and not yet delivered or recalled',
    labelNames: ['where'],
    registers: [registry],
    collect() {
      const stats = sources.timers()?.stats();
      if (!stats) return;
      this.set({ where: 'all' }, stats.pending);
      this.set({ where: 'memory' }, stats.inMemory);
      this.set({ where: 'disk' }, stats.onDisk);
    },
  });
  const delivered = new Counter({ name: 'rocketmq_timer_delivered_messages_total', help: 'delay messages delivered to their topic', labelNames: ['topic'], registers: [registry] });
  const dropped = new Counter({ name: 'rocketmq_timer_dropped_messages_total', help: 'delay messages whose topic was gone when they were due', labelNames: ['topic'], registers: [registry] });
  const lateness = new Histogram({
    name: 'rocketmq_timer_lateness_ms',
    help: 'how late after its delivery time a delay message became visible, in milliseconds',
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000],
    registers: [registry],
  });
  return {
    timerDelivered: (topic, latenessMs) => {
      delivered.inc({ topic });
      lateness.observe(Math.max(0, latenessMs));
    },
    timerDropped: (topic) => dropped.inc({ topic }),
    transactionEvent: (topic, event) => {
      if (event === 'CHECK') transactionChecks.inc({ topic });
      else transactionEnds.inc({ topic, outcome: event.toLowerCase() });
    },
  };
}
