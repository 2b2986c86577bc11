// Opening a store's files after a stop, clean or not: the checkpoint, the queue files, and the
// commit log scanned from where it must be (see docs/design/data-file.md, "Recovery order").
// Queue entries the checkpoint does not vouch for are cut from the queue files and dispatched
// again from the log; records the queues already hold are skipped.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '@rmq/base';
import { CommitLog, type DamagePolicy, type RecoveryReport } from './commit-log';
import type { ConsumeQueue } from './consume-queue';
import { loadQueues, queueIn, queueKey, type QueueFileSettings } from './queue-table';
import { readJson } from './state-file';
import type { FileIo } from './file-io';
import type { SyncReads } from './sync-reads';
import { STORE_LIMITS } from './limits';

export interface Checkpoint {
  /** Every queue file holds all entries of records below this log offset. */
  dispatchedLogOffset: number;
  /**
   * Per queue ("topic/queueId"), how many entries lie below dispatchedLogOffset: a queue file
   * found with fewer (deleted, cut short) is rebuilt from the log. A checkpoint without it (an
   * older store) vouches for no queue entry: every queue is rebuilt.
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

export async function recoverStore(
  settings: {
    dataDir: string;
    segmentSizeBytes: number;
    damage: DamagePolicy;
    fileIo: FileIo;
    syncReads?: SyncReads;
    zeroAheadBytes?: number;
    onEvent?: (event: { kind: 'queuesRebuilding'; queues: string[] }) => void;
  },
  queueFiles: QueueFileSettings,
): Promise<Recovered> {
  await mkdir(settings.dataDir, { recursive: true });
  const cleanShutdown = !existsSync(join(settings.dataDir, 'abort'));
  const saved = await readJson<Checkpoint>(join(settings.dataDir, 'checkpoint.json'));
  const checkpoint: Required<Omit<Checkpoint, 'committedLogOffset'>> & Checkpoint = saved?.queueCounts
    ? { dispatchedLogOffset: saved.dispatchedLogOffset, queueCounts: saved.queueCounts, committedLogOffset: saved.committedLogOffset }
    : { dispatchedLogOffset: 0, queueCounts: {} };
  // After an unclean stop, the segment holding the checkpoint is re-read from its start: the
  // data below the checkpoint may be gone (a disk that lied about a flush), and only a scan
  // finds the real end. A queue file behind the checkpoint makes the scan start at the
  // beginning of the log.
  const dispatched = checkpoint.dispatchedLogOffset;
  let replayFromLogOffset = cleanShutdown || dispatched === 0 ? dispatched : (dispatched - 1) - ((dispatched - 1) % settings.segmentSizeBytes);
  const trustedCountOf = (topic: string, queueId: number) => checkpoint.queueCounts[checkpointQueueName(topic, queueId)] ?? 0;
  const { queues, behind } = await loadQueues(queueFiles, trustedCountOf);
  const behindNames = new Set(behind.map(({ topic, queueId }) => checkpointQueueName(topic, queueId)));
  for (const [name, count] of Object.entries(checkpoint.queueCounts)) {
    if (count > 0 && !queues.has(checkpointQueueKey(name))) behindNames.add(name); // its directory is gone
  }
  if (behindNames.size > 0) {
    // Rebuilt from scratch: a queue whose first entries retention deleted starts at its first
    // surviving record (ConsumeQueue.empty with a first offset).
    replayFromLogOffset = 0;
    settings.onEvent?.({ kind: 'queuesRebuilding', queues: [...behindNames].sort() });
  }
  const { log, report } = await CommitLog.open(join(settings.dataDir, 'commitlog'), settings.segmentSizeBytes, replayFromLogOffset, (record) => {
    // A queue rebuilt after retention starts at its first surviving record.
    const queue = queueIn(queues, queueFiles, record.topic, record.queueId, record.queueOffset);
    if (record.queueOffset < queue.count) {
      const entry = queue.cachedEntry(record.queueOffset);
      assert(entry === undefined || entry.logOffset === record.logOffset, 'replayed record disagrees with its queue entry', {
        topic: record.topic, queueId: record.queueId, queueOffset: record.queueOffset, logOffset: record.logOffset, entryLogOffset: entry?.logOffset,
      });
      return undefined;
    }
    assert(record.queueOffset === queue.count, 'replayed record does not continue its queue', {
      topic: record.topic, queueId: record.queueId, queueOffset: record.queueOffset, expected: queue.count,
    });
    queue.append({ logOffset: record.logOffset, sizeBytes: record.sizeBytes, tagHash: record.tagHash });
    return queue.unpersistedCount >= STORE_LIMITS.queueReplayPersistEntries ? queue.persist() : undefined;
  }, { damage: { ...settings.damage, checkpointLogOffset: dispatched }, fileIo: settings.fileIo, syncReads: settings.syncReads, zeroAheadBytes: settings.zeroAheadBytes });
  if (report.logEndOffset < dispatched) {
    for (const queue of queues.values()) await queue.truncateFromLogOffset(report.logEndOffset);
  }
  return { log, queues, report, cleanShutdown, committedLogOffset: checkpoint.committedLogOffset };
}

/** The checkpoint names queues "topic/queueId" (readable JSON); the queue table keys them otherwise. */
export function checkpointQueueName(topic: string, queueId: number): string {
  return `${topic}/${queueId}`;
}

function checkpointQueueKey(name: string): string {
  const slash = name.lastIndexOf('/');
  return queueKey(name.slice(0, slash), Number(name.slice(slash + 1)));
}
