// Opening a store's files after a stop, clean or not: the checkpoint, the queue files, and the
// commit log scanned from where it must be (see docs/design/data-file.md, "Recovery order").
// Records the queue files already hold are checked against them; the rest are dispatched again.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '@rmq/base';
import { CommitLog, type RecoveryReport } from './commit-log';
import type { ConsumeQueue } from './consume-queue';
import { loadQueues, queueIn, queueKey } from './queue-table';
import { readJson } from './state-file';

export interface Checkpoint {
  /** Every queue file holds all entries of records below this log offset. */
  dispatchedLogOffset: number;
  /**
   * Per queue ("topic/queueId"), how many entries lie below dispatchedLogOffset: a queue file
   * found with fewer (deleted, cut short) is rebuilt from the log. Absent in older checkpoints.
   */
  queueCounts?: Record<string, number>;
  /** The committed offset (commit-tracker.ts) when it was written; absent in older checkpoints (all committed). */
  committedLogOffset?: number;
}

export interface Recovered {
  log: CommitLog;
  queues: Map<string, ConsumeQueue>;
  report: RecoveryReport;
  /** The previous run closed the store (no abort marker was left). */
  cleanShutdown: boolean;
  /** As the checkpoint saved it; records above it stay unreadable until committed again. */
  committedLogOffset: number | undefined;
}

export async function recoverStore(settings: {
  dataDir: string;
  segmentSizeBytes: number;
  onEvent?: (event: { kind: 'queuesRebuilding'; queues: string[] }) => void;
}): Promise<Recovered> {
  await mkdir(settings.dataDir, { recursive: true });
  const cleanShutdown = !existsSync(join(settings.dataDir, 'abort'));
  const checkpoint = (await readJson<Checkpoint>(join(settings.dataDir, 'checkpoint.json'))) ?? { dispatchedLogOffset: 0 };
  const queues = await loadQueues(join(settings.dataDir, 'consumequeue'), checkpoint.dispatchedLogOffset);
  // After an unclean stop, the segment holding the checkpoint is re-read from its start: the
  // data below the checkpoint may be gone (async mode and a machine crash), and only a scan
  // finds the real end. A queue file behind the checkpoint makes the scan start at the
  // beginning of the log.
  const dispatched = checkpoint.dispatchedLogOffset;
  const queuesBehind = queuesBehindCheckpoint(queues, checkpoint);
  let replayFromLogOffset = cleanShutdown || dispatched === 0 ? dispatched : (dispatched - 1) - ((dispatched - 1) % settings.segmentSizeBytes);
  if (queuesBehind.length > 0) {
    // Rebuilt from scratch: a queue whose first entries retention deleted starts at its first
    // surviving record (ConsumeQueue.empty with a first offset), whatever its file still held.
    for (const name of queuesBehind) queues.delete(checkpointQueueKey(name));
    replayFromLogOffset = 0;
    settings.onEvent?.({ kind: 'queuesRebuilding', queues: queuesBehind });
  }
  const { log, report } = await CommitLog.open(join(settings.dataDir, 'commitlog'), settings.segmentSizeBytes, replayFromLogOffset, (record) => {
    // A queue rebuilt after retention starts at its first surviving record.
    const queue = queueIn(queues, settings.dataDir, record.topic, record.queueId, record.queueOffset);
    if (record.queueOffset < queue.count) {
      const entry = queue.entry(record.queueOffset);
      assert(entry === undefined || entry.logOffset === record.logOffset, 'replayed record disagrees with its queue entry', {
        topic: record.topic, queueId: record.queueId, queueOffset: record.queueOffset, logOffset: record.logOffset, entryLogOffset: entry?.logOffset,
      });
      return;
    }
    assert(record.queueOffset === queue.count, 'replayed record does not continue its queue', {
      topic: record.topic, queueId: record.queueId, queueOffset: record.queueOffset, expected: queue.count,
    });
    queue.append({ logOffset: record.logOffset, sizeBytes: record.sizeBytes, tagHash: record.tagHash });
  });
  if (report.logEndOffset < checkpoint.dispatchedLogOffset) {
    for (const queue of queues.values()) queue.truncateFromLogOffset(report.logEndOffset);
  }
  return { log, queues, report, cleanShutdown, committedLogOffset: checkpoint.committedLogOffset };
}

/** Queues ("topic/queueId") whose file holds fewer entries than the checkpoint says it must. */
function queuesBehindCheckpoint(queues: Map<string, ConsumeQueue>, checkpoint: Checkpoint): string[] {
  const behind: string[] = [];
  for (const [name, count] of Object.entries(checkpoint.queueCounts ?? {})) {
    if ((queues.get(checkpointQueueKey(name))?.count ?? 0) < count) behind.push(name);
  }
  return behind;
}

/** The checkpoint names queues "topic/queueId" (readable JSON); the queue table keys them otherwise. */
export function checkpointQueueName(topic: string, queueId: number): string {
  return `${topic}/${queueId}`;
}

function checkpointQueueKey(name: string): string {
  const slash = name.lastIndexOf('/');
  return queueKey(name.slice(0, slash), Number(name.slice(slash + 1)));
}
