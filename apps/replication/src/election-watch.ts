// Who leads an etcd election: the value of its oldest key (lowest create revision), read again
// after every change under the election's prefix. etcd3's ElectionObserver is not used: when it
// starts while no candidate has a key, it takes the last put of the first batch it sees as the
// leader and then watches only that key, so a controller starting beside others could name
// itself the leader for as long as it lives (found by replication-ha.int on a busy machine).
import { withTimeout } from '@rmq/base';
import type { Namespace, Watcher } from 'etcd3';
import { ETCD_CALL_TIMEOUT_MS } from './limits';

export interface ElectionWatchListener {
  /** The leader's campaign value, undefined while nobody campaigns; called on each change only. */
  onLeader(leader: string | undefined): void;
  /** The watch or a read failed: the leader is unknown until the owner starts a new watch. */
  onError(error: unknown): void;
}

export class ElectionWatch {
  private watcher: Watcher | undefined;
  private leader: string | undefined;
  private reading = false;
  private readAgain = false;
  private stopped = false;

  /** `election` is the election's own namespace: every candidate's key is directly under it. */
  constructor(private readonly election: Namespace, private readonly listener: ElectionWatchListener) {}

  /** Watches first, then reads, so no change between the two is missed. Fails if etcd cannot be reached. */
  async start(): Promise<string | undefined> {
    // watcher() is attached to etcd3's watch manager at once (create() hides it until it connects):
    // one that cannot connect in time is cancelled here, not left reconnecting for good with
    // backoff timers (a controller retrying while etcd was down gathered one a retry).
    const watcher = this.election.watch().prefix('').watcher();
    try {
      await withTimeout(whenConnected(watcher), ETCD_CALL_TIMEOUT_MS, 'watching the etcd election');
    } catch (error) {
      // Not awaited: etcd3's cancel waits for the watch to connect or drop, which a hung etcd
      // (or a watch it refused) never does; start() must fail within its timeout.
      void watcher.cancel().catch(() => undefined);
      throw error;
    }
    this.watcher = watcher;
    if (this.stopped) {
      await watcher.cancel();
      return undefined;
    }
    const changed = () => this.refresh();
    watcher.on('put', changed);
    watcher.on('delete', changed);
    watcher.on('connected', changed); // after a reconnect, events may have been compacted away
    watcher.on('error', (error) => this.fail(error));
    this.leader = await this.oldest();
    return this.leader;
  }

  current(): string | undefined {
    return this.leader;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watcher?.cancel().catch(() => undefined);
  }

  /** Reads the oldest key again; changes arriving during a read cause one more read after it. */
  private refresh(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    void (async () => {
      try {
        do {
          this.readAgain = false;
          const leader = await this.oldest();
          if (this.stopped) return;
          if (leader !== this.leader) {
            this.leader = leader;
            this.listener.onLeader(leader);
          }
        } while (this.readAgain && !this.stopped);
      } catch (error) {
        this.fail(error);
      } finally {
        this.reading = false;
      }
    })();
  }

  private async oldest(): Promise<string | undefined> {
    const result = await withTimeout(this.election.getAll().sort('Create', 'Ascend').limit(1).exec(), ETCD_CALL_TIMEOUT_MS, 'reading the etcd election');
    return result.kvs[0]?.value.toString('utf8');
  }

  private fail(error: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.leader = undefined;
    void this.watcher?.cancel().catch(() => undefined);
    this.listener.onError(error);
  }
}

/** Resolves once the watcher is registered with etcd; fails with its first error. */
function whenConnected(watcher: Watcher): Promise<void> {
  return new Promise((resolve, reject) => {
    watcher.once('connected', () => resolve());
    watcher.once('error', reject);
  });
}
