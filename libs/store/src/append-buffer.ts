// The bytes of appends not yet written to the log. Records are encoded where they will sit, into
// large slabs, so a batch reaches the log as a few big buffers (one pwritev per segment) rather
// than one allocation and one copy per record. A slab region once handed out is never reused.
import { assert } from '@rmq/base';
import type { Chunk } from './commit-log';
import { STORE_LIMITS } from './limits';

export class AppendBuffer {
  private chunks: Chunk[] = [];
  private slab = Buffer.alloc(0);
  private slabUsed = 0;
  /** The chunk being filled: its first log offset and where it starts in the slab. */
  private open: { logOffset: number; slabStart: number } | undefined;
  private nextLogOffset = -1;

  /** A chunk never crosses a segment boundary: each chunk is written into one segment file. */
  constructor(private readonly segmentSizeBytes: number) {}

  /** Room for `sizeBytes` at `logOffset`, which must not go back; write them at `buffer[at]`. */
  claim(logOffset: number, sizeBytes: number): { buffer: Buffer; at: number } {
    const at = this.claimAt(logOffset, sizeBytes);
    return { buffer: this.slab, at };
  }

  /** The buffer the last claimAt() made room in. */
  get slabBuffer(): Buffer {
    return this.slab;
  }

  /** As claim(), without an object per record: write at `slabBuffer[returned]`. */
  claimAt(logOffset: number, sizeBytes: number): number {
    if (logOffset < this.nextLogOffset) assert(false, 'append buffer claims must follow log order', { logOffset, nextLogOffset: this.nextLogOffset });
    const startsSegment = logOffset % this.segmentSizeBytes === 0;
    if (!this.open || logOffset !== this.nextLogOffset || startsSegment || this.slabUsed + sizeBytes > this.slab.length) {
      this.closeChunk();
      if (this.slabUsed + sizeBytes > this.slab.length) {
        this.slab = Buffer.allocUnsafe(Math.max(STORE_LIMITS.appendSlabBytes, sizeBytes));
        this.slabUsed = 0;
      }
      this.open = { logOffset, slabStart: this.slabUsed };
    }
    const at = this.slabUsed;
    this.slabUsed += sizeBytes;
    this.nextLogOffset = logOffset + sizeBytes;
    return at;
  }

  /**
   * Takes `bytes` as the log's bytes at `logOffset`, as they are (no copy): a replicated run of
   * records within one segment. The caller must not change them afterwards.
   */
  adopt(logOffset: number, bytes: Buffer): void {
    if (logOffset < this.nextLogOffset) assert(false, 'append buffer claims must follow log order', { logOffset, nextLogOffset: this.nextLogOffset });
    const segmentEnd = logOffset - (logOffset % this.segmentSizeBytes) + this.segmentSizeBytes;
    if (logOffset + bytes.length > segmentEnd) assert(false, 'an adopted run crosses a segment end', { logOffset, sizeBytes: bytes.length });
    this.closeChunk();
    this.chunks.push({ logOffset, bytes });
    this.nextLogOffset = logOffset + bytes.length;
  }

  /** Forgets the log position (the log was cut back); nothing may be claimed and not taken. */
  reset(): void {
    assert(this.chunks.length === 0 && !this.open, 'append buffer reset with bytes not yet written');
    this.nextLogOffset = -1;
  }

  /** Everything claimed since the last take, in log order. */
  take(): Chunk[] {
    this.closeChunk();
    const chunks = this.chunks;
    this.chunks = [];
    return chunks;
  }

  private closeChunk(): void {
    if (!this.open) return;
    this.chunks.push({ logOffset: this.open.logOffset, bytes: this.slab.subarray(this.open.slabStart, this.slabUsed) });
    this.open = undefined;
  }
}
