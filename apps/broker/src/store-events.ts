// What the broker logs of the store's events: recovery, cuts, failures, retention.
import type { Logger } from '@rmq/observability';
import type { StoreEvent, StoreStats } from '@rmq/store';

export function logStoreEvent(log: Logger, event: StoreEvent): void {
  switch (event.kind) {
    case 'recovered':
      log.info('store recovered', { ...event.report, durationMs: event.durationMs, cleanShutdown: event.cleanShutdown });
      if (event.report.truncated) log.warn('commit log cut during recovery: the bytes from here on were not a valid record', event.report.truncated);
      break;
    case 'queuesRebuilding':
      log.warn('queue index files missing or short; rebuilding them from the whole commit log', { queues: event.queues });
      break;
    case 'writeFailed':
      log.error('store write failed; writes are refused from now on', { error: event.error });
      break;
    case 'writeStalled':
      log.error(`store ${event.operation} failed with a transient error; retrying (sends are refused meanwhile)`, { error: event.error });
      break;
    case 'writeResumed':
      log.warn('store writes resumed', { stalledMs: event.stalledMs });
      break;
    case 'segmentDeleted':
      log.info('commit log segment deleted by retention', { segmentStartLogOffset: event.segmentStartLogOffset, sizeBytes: event.sizeBytes, reason: event.reason });
      break;
    case 'writesRefused':
      log.error('disk past its hard limit: sends are refused until space is freed', { usedRatio: event.usedRatio, hardLimitRatio: event.hardLimitRatio });
      break;
    case 'writesResumed':
      log.warn('disk usage back below the hard limit: sends accepted again', { usedRatio: event.usedRatio });
      break;
    case 'retentionFailed':
      log.error('retention pass failed; retrying on the next pass', { error: event.error });
      break;
    case 'queueTrimmed':
      // Groups behind this range are counted and warned about when they next read the queue.
      log.info('retention removed queue entries', { topic: event.topic, queueId: event.queueId, fromQueueOffset: event.fromQueueOffset, toQueueOffset: event.toQueueOffset });
      break;
    case 'segmentsMovedAside':
      log.error('damaged commit log segments moved aside (--accept-data-loss): the records in them are no longer served', { atLogOffset: event.atLogOffset, reason: event.reason, movedTo: event.movedTo });
      break;
    case 'indexRebuilt':
      log.info('message index rebuilt', { ...event.report, durationMs: event.durationMs, entryCount: event.entryCount });
      break;
    case 'fsync':
    case 'flushed':
      break; // metrics only
  }
}

/** /health problems of the store: refusing writes (with the reason), failing checkpoints. */
export function storeHealth(stats: Pick<StoreStats, 'writeRefusal' | 'checkpointProblem'>): string[] {
  const problems: string[] = [];
  if (stats.writeRefusal) problems.push(`store refuses writes: ${stats.writeRefusal}`);
  if (stats.checkpointProblem) problems.push(`store checkpoint failing: ${stats.checkpointProblem}`);
  return problems;
}
