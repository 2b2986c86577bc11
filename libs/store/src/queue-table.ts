// The store's consume queues by (topic, queueId): the key, finding or making a queue, and
// loading every queue file at start.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConsumeQueue } from './consume-queue';

export function queueKey(topic: string, queueId: number): string {
  return `${topic}\u0000${queueId}`;
}

/** The queue, made empty if it does not exist (starting at `firstQueueOffset`, see ConsumeQueue.empty). */
export function queueIn(queues: Map<string, ConsumeQueue>, dataDir: string, topic: string, queueId: number, firstQueueOffset = 0): ConsumeQueue {
  const key = queueKey(topic, queueId);
  let queue = queues.get(key);
  if (!queue) {
    queue = ConsumeQueue.empty(topic, queueId, join(dataDir, 'consumequeue', topic, String(queueId)), firstQueueOffset);
    queues.set(key, queue);
  }
  return queue;
}

/** Every queue file under `dir`, without entries at or beyond `logEndOffset`. */
export async function loadQueues(dir: string, logEndOffset: number): Promise<Map<string, ConsumeQueue>> {
  const queues = new Map<string, ConsumeQueue>();
  if (!existsSync(dir)) return queues;
  for (const topic of await readdir(dir)) {
    for (const name of await readdir(join(dir, topic))) {
      if (!/^\d+$/.test(name)) continue;
      const queueId = Number(name);
      queues.set(queueKey(topic, queueId), await ConsumeQueue.load(topic, queueId, join(dir, topic, name), logEndOffset));
    }
  }
  return queues;
}
