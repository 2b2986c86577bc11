// The store's Prometheus series: sizes and lags read from store.stats() at scrape time, fsync
// latency observed from the store's events. RocketMQ 5 names where they exist.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { MessageStore, StoreEvent } from '@rmq/store';

export interface StoreMetrics {
  /** Feed every store event here (fsync latency, retention deletions). */
  onStoreEvent(event: StoreEvent): void;
  /** Starts the scrape-time gauges once the store is open. */
  watch(store: MessageStore): void;
}

export function createStoreMetrics(registry: Registry): StoreMetrics {
  const fsyncLatency = new Histogram({
    name: 'rmq_store_fsync_latency_ms',
    help: 'fdatasync of a commit log segment, in milliseconds (group commit in sync mode, the flush interval in async mode)',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250],
    registers: [registry],
  });
  const deletedSegments = new Counter({
    name: 'rmq_store_retention_deleted_segments_total',
    help: 'commit log segments deleted by retention',
    labelNames: ['reason'],
    registers: [registry],
  });
  let store: MessageStore | undefined;
  const gauge = (name: string, help: string, value: (stats: ReturnType<MessageStore['stats']>) => number | undefined) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const reading = store && value(store.stats());
        if (reading !== undefined) this.set(reading);
      },
    });
  gauge('rocketmq_storage_size', 'bytes of commit log on disk', (stats) => stats.logSizeBytes);
  gauge('rmq_store_log_end_offset_bytes', 'end of the commit log (bytes written since the first message)', (stats) => stats.logEndOffset);
  gauge('rmq_store_log_min_offset_bytes', 'first log offset still on disk (retention moves it)', (stats) => stats.logMinOffset);
  gauge('rocketmq_storage_flush_behind_bytes', 'bytes acknowledged but not yet fdatasynced (async mode)', (stats) => stats.flushLagBytes);
  gauge('rocketmq_storage_dispatch_behind_bytes', 'bytes being written, not yet readable by consumers', (stats) => stats.dispatchLagBytes);
  gauge('rmq_store_checkpoint_behind_bytes', 'readable bytes not yet covered by the checkpoint (what recovery would re-read)', (stats) => stats.checkpointLagBytes);
  gauge('rmq_store_recovery_duration_ms', 'how long the last start-up recovery took', (stats) => stats.lastRecovery?.durationMs);
  gauge('rmq_store_disk_used_ratio', 'used fraction of the disk holding the store, at the last retention pass', (stats) => stats.retention.diskUsage?.usedRatio);
  gauge('rmq_store_writes_refused', '1 while appends are refused because the disk is past its hard limit', (stats) => (stats.retention.writesRefused ? 1 : 0));
  new Gauge({
    name: 'rocketmq_storage_message_reserve_time',
    help: 'milliseconds since the oldest message still on disk was stored (how long the store keeps messages now)',
    registers: [registry],
    async collect() {
      const oldestMs = await store?.earliestStoreTimestampMs();
      if (oldestMs === undefined) this.reset();
      else this.set(Math.max(0, Date.now() - oldestMs));
    },
  });
  new Gauge({
    name: 'rmq_store_flush_mode',
    help: 'the durability mode: 1 on the active mode',
    labelNames: ['mode'],
    registers: [registry],
    collect() {
      if (!store) return;
      const mode = store.stats().flushMode;
      this.set({ mode: 'sync' }, mode === 'sync' ? 1 : 0);
      this.set({ mode: 'async' }, mode === 'async' ? 1 : 0);
    },
  });
  return {
    onStoreEvent(event) {
      if (event.kind === 'fsync') fsyncLatency.observe(event.durationMs);
      if (event.kind === 'segmentDeleted') deletedSegments.inc({ reason: event.reason });
    },
    watch(opened) {
      store = opened;
    },
  };
}
