// A slave becoming master rebuilds its state, delay schedules and open transactions from its
// log; the tail it copied last (written, not yet durable, or not yet confirmed by the old master)
// is not readable until this broker commits it. Read without it, the old master's last deliveries
// and transaction ends in it would be made again once it became readable.
import type { MessageStore } from '@rmq/store';
import type { Logger } from '@rmq/observability';

/** Waits until the whole log is readable, at most `waitMsMax` (then goes on, saying so). */
export async function copiedTailReadable(store: MessageStore, log: Logger, waitMsMax: number): Promise<void> {
  const behind = { committedLogOffset: store.committedLogOffset, logEndOffset: store.stats().logEndOffset };
  if (behind.committedLogOffset >= behind.logEndOffset) return;
  const startedAt = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), waitMsMax);
  });
  try {
    if (!(await Promise.race([store.whenCommittedToEnd().then(() => false), timedOut]))) {
      log.info('the copied log tail is committed: state is rebuilt with it', { ...behind, waitedMs: Math.round(performance.now() - startedAt) });
    } else {
      log.warn('the copied log tail was not committed in time; state is rebuilt without it (a delay message or transaction end in it may be made again)', {
        waitedMs: waitMsMax, committedLogOffset: store.committedLogOffset, logEndOffset: store.stats().logEndOffset,
      });
    }
  } finally {
    clearTimeout(timer);
  }
}
