// Reading the records of schedules that come due: their queue offsets are grouped into runs
// (schedules sent together are neighbours in the timer queue), each run read with one store
// read, which fetches neighbouring records with few large reads instead of one read each.
import type { MessageStore, StoredRecord } from '@rmq/store';
import { MESSAGING_LIMITS } from './limits';
import { TIMER_QUEUE, TIMER_TOPIC } from './timer-records';

export interface QueueRun {
  from: number;
  /** Exclusive. */
  to: number;
}

/** Sorted runs covering `queueOffsets`, merging neighbours at most `gapMax` apart, each at most `spanMax` long (pure). */
export function readRuns(queueOffsets: readonly number[], gapMax: number, spanMax: number): QueueRun[] {
  const sorted = [...queueOffsets].sort((a, b) => a - b);
  const runs: QueueRun[] = [];
  for (const queueOffset of sorted) {
    const last = runs[runs.length - 1];
    if (last && queueOffset < last.to) continue; // a repeat
    if (last && queueOffset - last.to < gapMax && queueOffset + 1 - last.from <= spanMax) last.to = queueOffset + 1;
    else runs.push({ from: queueOffset, to: queueOffset + 1 });
  }
  return runs;
}

/** The schedules' records by queue offset; one missing from the map was deleted by retention. */
export async function readSchedules(store: MessageStore, queueOffsets: readonly number[]): Promise<Map<number, StoredRecord>> {
  const wanted = new Set(queueOffsets);
  const found = new Map<number, StoredRecord>();
  for (const run of readRuns(queueOffsets, MESSAGING_LIMITS.timerReadGapMax, MESSAGING_LIMITS.timerReadSpanMax)) {
    for (let from = run.from; from < run.to; ) {
      const { records, nextQueueOffset } = await store.read(TIMER_TOPIC, TIMER_QUEUE.schedules, from, { countMax: run.to - from });
      for (const record of records) if (wanted.has(record.queueOffset) && record.queueOffset < run.to) found.set(record.queueOffset, record);
      if (nextQueueOffset <= from) break;
      from = nextQueueOffset;
    }
  }
  return found;
}
