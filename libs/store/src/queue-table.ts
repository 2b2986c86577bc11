// The store's consume queues by (topic, queueId): the key, finding or making a queue, and
// opening every queue's files at start.
import type { Dirent } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConsumeQueue } from './consume-queue';
import { QueueFiles } from './queue-files';
import type { FileHandlePool } from './file-handle-pool';
import type { FileIo } from './file-io';
import type { SyncReads } from './sync-reads';
import { STORE_LIMITS } from './limits';

/** Where a store's queue files live and how they are cut and cached. */
export interface QueueFileSettings {
  /** The `consumequeue` directory. */
  dir: string;
  entriesPerFile: number;
  hotEntryCount: number;
  pool: FileHandlePool;
  fileIo: FileIo;
  /** Reads of recent entries on the main thread (sync-reads.ts). */
  syncReads?: SyncReads;
}

export function queueKey(topic: string, queueId: number): string {
  return `${topic}\u0000${queueId}`;
}

export function queueFilesOf(settings: QueueFileSettings, topic: string, queueId: number): QueueFiles {
  return new QueueFiles(join(settings.dir, topic, String(queueId)), settings.entriesPerFile, settings.pool, settings.fileIo, settings.syncReads);
}

/** The queue, made empty if it does not exist (starting at `firstQueueOffset`, see ConsumeQueue.empty). */
export function queueIn(queues: Map<string, ConsumeQueue>, settings: QueueFileSettings, topic: string, queueId: number, firstQueueOffset = 0, key = queueKey(topic, queueId)): ConsumeQueue {
  let queue = queues.get(key);
  if (!queue) {
    queue = ConsumeQueue.empty(topic, queueId, queueFilesOf(settings, topic, queueId), settings.hotEntryCount, firstQueueOffset);
    queues.set(key, queue);
  }
  return queue;
}

/**
 * Opens every queue under the directory (see ConsumeQueue.load). `trustedCountOf` says how many
 * entries the checkpoint vouches for. Queues that must be rebuilt from the log come back in
 * `behind` ("topic/queueId"), their files deleted. A queue file of the earlier single-file layout
 * (`consumequeue/<topic>/<queueId>` as a file) is derived data: it is deleted, so the queue is
 * rebuilt if the checkpoint says it held entries.
 */
export async function loadQueues(
  settings: QueueFileSettings,
  trustedCountOf: (topic: string, queueId: number) => number,
): Promise<{ queues: Map<string, ConsumeQueue>; behind: { topic: string; queueId: number }[] }> {
  const found: { topic: string; queueId: number; isDirectory: boolean }[] = [];
  for (const { name: topic } of await readdirOrEmpty(settings.dir)) {
    for (const entry of await readdirOrEmpty(join(settings.dir, topic))) {
      if (/^\d+$/.test(entry.name)) found.push({ topic, queueId: Number(entry.name), isDirectory: entry.isDirectory() });
    }
  }
  const queues = new Map<string, ConsumeQueue>();
  const behind: { topic: string; queueId: number }[] = [];
  // Several at once: each load is a few small file operations, mostly waiting on the thread pool.
  await forEachConcurrently(found, STORE_LIMITS.queueOpenConcurrency, async ({ topic, queueId, isDirectory }) => {
    if (!isDirectory) await rm(join(settings.dir, topic, String(queueId))); // the single-file layout
    const files = queueFilesOf(settings, topic, queueId);
    const queue = await ConsumeQueue.load(topic, queueId, files, settings.hotEntryCount, trustedCountOf(topic, queueId));
    if (queue) {
      queues.set(queueKey(topic, queueId), queue);
    } else {
      await ConsumeQueue.deleteFiles(files);
      behind.push({ topic, queueId });
    }
  });
  return { queues, behind };
}

/** Runs `work` on every item, at most `limit` at a time; the first failure is thrown once all stopped. */
export async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (next < items.length && failures.length === 0) {
      const item = items[next++];
      await work(item).catch((error: unknown) => failures.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

async function readdirOrEmpty(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
