// The store's consume queues by (topic, queueId): the key, finding or making a queue, and
// opening every queue's files at start.
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConsumeQueue } from './consume-queue';
import { QueueFiles } from './queue-files';
import type { FileHandlePool } from './file-handle-pool';
import type { FileIo } from './file-io';

/** Where a store's queue files live and how they are cut and cached. */
export interface QueueFileSettings {
  /** The `consumequeue` directory. */
  dir: string;
  entriesPerFile: number;
  hotEntryCount: number;
  pool: FileHandlePool;
  fileIo: FileIo;
}

export function queueKey(topic: string, queueId: number): string {
  return `${topic}\u0000${queueId}`;
}

export function queueFilesOf(settings: QueueFileSettings, topic: string, queueId: number): QueueFiles {
  return new QueueFiles(join(settings.dir, topic, String(queueId)), settings.entriesPerFile, settings.pool, settings.fileIo);
}

/** The queue, made empty if it does not exist (starting at `firstQueueOffset`, see ConsumeQueue.empty). */
export function queueIn(queues: Map<string, ConsumeQueue>, settings: QueueFileSettings, topic: string, queueId: number, firstQueueOffset = 0): ConsumeQueue {
  const key = queueKey(topic, queueId);
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
  replayFromLogOffset: number,
): Promise<{ queues: Map<string, ConsumeQueue>; behind: { topic: string; queueId: number }[] }> {
  const queues = new Map<string, ConsumeQueue>();
  const behind: { topic: string; queueId: number }[] = [];
  for (const topic of await readdirOrEmpty(settings.dir)) {
    for (const name of await readdirOrEmpty(join(settings.dir, topic))) {
      if (!/^\d+$/.test(name)) continue;
      const queueId = Number(name);
      const path = join(settings.dir, topic, name);
      if (!(await stat(path)).isDirectory()) await rm(path); // the single-file layout
      const files = queueFilesOf(settings, topic, queueId);
      const queue = await ConsumeQueue.load(topic, queueId, files, settings.hotEntryCount, { trustedCount: trustedCountOf(topic, queueId), replayFromLogOffset });
      if (queue) {
        queues.set(queueKey(topic, queueId), queue);
      } else {
        await ConsumeQueue.deleteFiles(files);
        behind.push({ topic, queueId });
      }
    }
  }
  return { queues, behind };
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
