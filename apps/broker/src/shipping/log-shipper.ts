// One slave's Follow stream on the master: ships the log from the slave's end in batches of
// whole records, never across a segment or an epoch boundary, as fast as the slave takes them:
// at most REPLICATION_LIMITS.unackedBytesMax beyond what it acknowledged as written, and never
// while the stream's buffer is full (gRPC flow control). Caught up, it waits for the store to
// write more, sending an empty batch when the committed offset moved or the stream was idle.
import type * as grpc from '@grpc/grpc-js';
import { create, encodesWhenWritten, replication } from '@rmq/contracts';
import type { MessageStore } from '@rmq/store';
import type { ReplicationMaster } from './replication-master';
import { REPLICATION_LIMITS } from './limits';

type FollowCall = grpc.ServerDuplexStream<replication.FollowRequest, replication.FollowResponse>;

/** A stretch of log the slave has written: when it was shipped (epoch ms), how long until the slave said so, its size. */
export type CopiedListener = (startedAtMs: number, durationMs: number, sizeBytes: number) => void;

/** Shipped batches remembered until the slave acknowledges them (for CopiedListener); older ones are forgotten. */
const SHIPPED_REMEMBERED_MAX = 1_024;

export class LogShipper {
  private next: number;
  private ackedWritten: number;
  private lastSentCommitted = -1;
  private lastSentMs = 0;
  private closed = false;
  private wake: (() => void) | undefined;
  /** Batches shipped and not yet acknowledged, oldest first (only with an onCopied listener). */
  private readonly shipped: { endLogOffset: number; startedAt: number; sizeBytes: number }[] = [];
  /** A call that encodes each batch as it is written takes bytes viewed in the append buffer (no copy of its own). */
  private readonly readUse: 'kept' | 'turn';

  constructor(
    private readonly call: FollowCall,
    private readonly store: MessageStore,
    private readonly master: ReplicationMaster,
    fromLogOffset: number,
    private readonly onCopied?: CopiedListener,
  ) {
    this.next = fromLogOffset;
    this.ackedWritten = fromLogOffset;
    this.readUse = encodesWhenWritten(call) ? 'turn' : 'kept';
  }

  /** The slave wrote up to here: room for more. */
  acknowledged(writtenLogOffset: number): void {
    this.ackedWritten = Math.max(this.ackedWritten, writtenLogOffset);
    while (this.shipped.length > 0 && this.shipped[0].endLogOffset <= this.ackedWritten) {
      const batch = this.shipped.shift()!;
      this.onCopied?.(performance.timeOrigin + batch.startedAt, performance.now() - batch.startedAt, batch.sizeBytes);
    }
    this.poke();
  }

  close(): void {
    this.closed = true;
    this.poke();
  }

  async run(): Promise<void> {
    const unsubscribe = this.master.onStoreProgress(() => this.poke());
    const idle = setInterval(() => this.poke(), REPLICATION_LIMITS.idleBatchIntervalMs);
    try {
      while (!this.closed && !this.call.cancelled && !this.call.destroyed) {
        if (await this.shipOne()) continue;
        const committed = this.store.committedLogOffset;
        if (committed !== this.lastSentCommitted || Date.now() - this.lastSentMs >= REPLICATION_LIMITS.idleBatchIntervalMs) {
          await this.send(Buffer.alloc(0), this.master.epochAt(this.next).epoch);
          continue;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      clearInterval(idle);
      unsubscribe();
    }
  }

  /** Ships the next batch if there is log to ship and room in the window; false when there is not. */
  private async shipOne(): Promise<boolean> {
    // Up to what reached the OS: in sync mode the slave writes and syncs while the master syncs.
    const shippable = this.store.shippableLogOffset;
    if (this.next >= shippable || this.next - this.ackedWritten >= REPLICATION_LIMITS.unackedBytesMax) return false;
    const { epoch, endLogOffset: epochEnd } = this.master.epochAt(this.next);
    const limit = Math.min(shippable, epochEnd);
    // A view is used at once: send() encodes it inside call.write, with no await in between. Its
    // memory may have been reused while readLog's answer waited (then it is read again, copied).
    let batch = await this.store.readLog(this.next, limit, REPLICATION_LIMITS.batchBytesMax, this.readUse);
    if (batch.viewOfMemory && !this.store.keepsInMemory(this.next)) batch = await this.store.readLog(this.next, limit, REPLICATION_LIMITS.batchBytesMax, 'kept');
    if (batch.bytes.length === 0) return false;
    const startLogOffset = this.next;
    this.next = batch.endLogOffset;
    if (this.onCopied) {
      this.shipped.push({ endLogOffset: batch.endLogOffset, startedAt: performance.now(), sizeBytes: batch.bytes.length });
      if (this.shipped.length > SHIPPED_REMEMBERED_MAX) this.shipped.shift();
    }
    await this.send(batch.bytes, epoch, startLogOffset);
    return true;
  }

  private async send(data: Buffer, epoch: number, startLogOffset = this.next): Promise<void> {
    const committedLogOffset = this.store.committedLogOffset;
    const message = create(replication.FollowResponseSchema, {
      epoch: BigInt(epoch),
      startLogOffset: BigInt(startLogOffset),
      data,
      committedLogOffset: BigInt(committedLogOffset),
      logEndOffset: BigInt(this.store.writtenLogOffset),
    });
    this.lastSentCommitted = committedLogOffset;
    this.lastSentMs = Date.now();
    if (this.call.write(message)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.call.off('drain', done);
        this.call.off('close', done);
        resolve();
      };
      this.call.on('drain', done);
      this.call.on('close', done);
    });
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
