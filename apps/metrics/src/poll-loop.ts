// Runs polls one after another with a pause between them (never two at once), hands each
// snapshot on, and logs what changed: a broker or the name servers going away or coming back.
import { delay } from '@rmq/base';
import type { Logger } from '@rmq/observability';
import type { ClusterSnapshot } from './cluster-snapshot';

export interface PollLoop {
  /** Cancels the running poll's calls and waits for the loop to end. */
  stop(): Promise<void>;
}

export function startPolling(
  poll: (signal: AbortSignal) => Promise<ClusterSnapshot>,
  pollIntervalMs: number,
  onSnapshot: (snapshot: ClusterSnapshot) => void,
  log: Logger,
): PollLoop {
  const abort = new AbortController();
  let previous: ClusterSnapshot | undefined;
  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        const snapshot = await poll(abort.signal);
        if (abort.signal.aborted) break;
        logChanges(previous, snapshot, log);
        previous = snapshot;
        onSnapshot(snapshot);
      } catch (error) {
        log.error('poll failed', { error });
      }
      await delay(pollIntervalMs, abort.signal).catch(() => undefined);
    }
  })();
  return {
    stop: async () => {
      abort.abort(new Error('stopping'));
      await loop;
    },
  };
}

export function logChanges(previous: ClusterSnapshot | undefined, next: ClusterSnapshot, log: Logger): void {
  if (next.nameServerError !== undefined && (previous === undefined || previous.nameServerError === undefined)) {
    log.warn('no name server answered', { error: next.nameServerError });
  } else if (next.nameServer !== undefined && previous?.nameServerError !== undefined) {
    log.info('name server answers again', { nameServer: next.nameServer });
  }
  const wasUp = new Map(previous?.brokers.map((broker) => [broker.endpoint, broker.up]));
  for (const broker of next.brokers) {
    const fields = { brokerName: broker.brokerName, brokerId: broker.brokerId, endpoint: broker.endpoint };
    const before = wasUp.get(broker.endpoint);
    if (!broker.up && before !== false) log.warn('broker did not answer', { ...fields, error: broker.error });
    else if (broker.up && before === false) log.info('broker answers again', fields);
    for (const { topic, error } of broker.topicErrors) log.debug('topic could not be read', { ...fields, topic, error });
  }
}
