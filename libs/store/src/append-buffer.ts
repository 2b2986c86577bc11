// The bytes of appends not yet written to the log. Records are encoded where they will sit, into
// large slabs, so a batch reaches the log as a few big buffers (one pwritev per segment) rather
// than one allocation and one copy per record.
//
// A full slab is reused once nothing can refer to its bytes any more: every byte of it is below
// `reusableBelow()` (written, and synced in sync mode, so no rewrite after a failed fdatasync
// needs it; and no longer kept by recent-writes.ts), and no reader was handed a view of it
// (RecentWrites.find marks the chunk `exposed`: a record read from memory keeps a view of its
// slab for as long as the reader holds it). Fresh memory is what a new slab costs most: the
// kernel faults its pages in as records are encoded, about 1.3 µs per 1.2 KB record measured
// here (wave 6), more than encoding the record.
import { assert } from '@rmq/base';
import type { Chunk } from './commit-log';
import { STORE_LIMITS } from './limits';

/** A full slab waiting to be reused: its chunks (any exposed?) and the log offset after its last byte. */
interface RetiredSlab {
  slab: Buffer;
  chunks: Chunk[];
  endLogOffset: number;
}

/** Enough to outlast recent-writes.ts's bytes (a slab is reusable only once those moved past it), and two more. */
const RETIRED_SLABS_MAX = Math.ceil(STORE_LIMITS.recentWritesBytesMax / STORE_LIMITS.appendSlabBytes) + 2;

export class AppendBuffer {
  private chunks: Chunk[] = [];
  private slab: Buffer = Buffer.alloc(0);
  private slabUsed = 0;
  /** The chunks cut from the current slab so far. */
  private slabChunks: Chunk[] = [];
  /** Full slabs, oldest first. */
  private retired: RetiredSlab[] = [];
  /** The chunk being filled: its first log offset and where it starts in the slab. */
  private open: { logOffset: number; slabStart: number } | undefined;
  private nextLogOffset = -1;

  /**
   * A chunk never crosses a segment boundary: each chunk is written into one segment file.
   * `reusableBelow`: the log offset below which no one needs the bytes any more (see above);
   * without it, no slab is reused.
   */
  constructor(
    private readonly segmentSizeBytes: number,
    private readonly reusableBelow: () => number = () => -1,
  ) {}

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
        this.retire();
        this.slab = (sizeBytes <= STORE_LIMITS.appendSlabBytes && this.reusableSlab()) || Buffer.allocUnsafe(Math.max(STORE_LIMITS.appendSlabBytes, sizeBytes));
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
    this.retired = []; // offsets start over: the old slabs go to the garbage collector
  }

  /** The current slab is full: kept for reuse if it has the standard size. */
  private retire(): void {
    if (this.slab.length === STORE_LIMITS.appendSlabBytes) {
      this.retired.push({ slab: this.slab, chunks: this.slabChunks, endLogOffset: this.nextLogOffset });
      if (this.retired.length > RETIRED_SLABS_MAX) this.retired.shift();
    }
    this.slabChunks = [];
  }

  /** The oldest retired slab, if no one needs its bytes any more; one a reader saw is dropped. */
  private reusableSlab(): Buffer | undefined {
    const oldest = this.retired[0];
    if (!oldest || oldest.endLogOffset > this.reusableBelow()) return undefined;
    this.retired.shift();
    for (const chunk of oldest.chunks) if (chunk.exposed) return undefined;
    return oldest.slab;
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
    const chunk: Chunk = { logOffset: this.open.logOffset, bytes: this.slab.subarray(this.open.slabStart, this.slabUsed), exposed: false };
    this.chunks.push(chunk);
    this.slabChunks.push(chunk);
    this.open = undefined;
  }
}
