// The log's most recent bytes, kept in memory as they were written (the append buffer's chunks:
// a slab is reused only once its chunks left this list and no reader was handed a view of one, so
// they stay as written). A consumer that keeps up reads records just committed: it views them
// here (chunkHolding marks the chunk exposed), with no file read (a thread-pool round trip, which on
// a busy machine waits for a CPU twice) and no copy. Bounded by bytes, oldest dropped first;
// emptied when the log's bytes may change (cut back, started over: its generation moves).
import type { Chunk } from './commit-log';

export class RecentWrites {
  private chunks: Chunk[] = [];
  private head = 0;
  private keptBytes = 0;
  private generation: number;

  constructor(
    private readonly log: { readonly generation: number },
    private readonly bytesMax: number,
  ) {
    this.generation = log.generation;
  }

  /** Chunks just written, in log order, following the ones kept. */
  add(chunks: readonly Chunk[]): void {
    this.checkGeneration();
    for (const chunk of chunks) {
      const last = this.chunks[this.chunks.length - 1];
      if (last && chunk.logOffset < last.logOffset + last.bytes.length) this.clear(); // not after the last: start again
      this.chunks.push(chunk);
      this.keptBytes += chunk.bytes.length;
    }
    while (this.keptBytes > this.bytesMax && this.head < this.chunks.length) {
      this.keptBytes -= this.chunks[this.head].bytes.length;
      this.chunks[this.head++] = undefined as unknown as Chunk; // let it be collected
    }
    if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** The bytes of [logOffset, logOffset + sizeBytes) if one kept chunk holds all of them. */
  find(logOffset: number, sizeBytes: number): Buffer | undefined {
    const chunk = this.chunkHolding(logOffset, sizeBytes);
    return chunk && chunk.bytes.subarray(logOffset - chunk.logOffset, logOffset - chunk.logOffset + sizeBytes);
  }

  /** The kept chunk that holds all of [logOffset, logOffset + sizeBytes), if one does (a record is viewed in it, no slice). */
  chunkHolding(logOffset: number, sizeBytes: number): Chunk | undefined {
    const chunk = this.chunkAt(logOffset);
    if (!chunk || logOffset - chunk.logOffset + sizeBytes > chunk.bytes.length) return undefined;
    chunk.exposed = true; // the reader may keep a view of it (a record viewed where it lies): its slab is never reused
    return chunk;
  }

  /** The log offset of the oldest byte kept (MAX_SAFE_INTEGER when none is). */
  get keptFromLogOffset(): number {
    this.checkGeneration();
    return this.head < this.chunks.length ? this.chunks[this.head].logOffset : Number.MAX_SAFE_INTEGER;
  }

  /** The last kept chunk starting at or before logOffset. */
  private chunkAt(logOffset: number): Chunk | undefined {
    this.checkGeneration();
    let low = this.head;
    let high = this.chunks.length;
    if (low >= high || logOffset < this.chunks[low].logOffset) return undefined;
    while (high - low > 1) {
      const middle = (low + high) >>> 1;
      if (this.chunks[middle].logOffset <= logOffset) low = middle;
      else high = middle;
    }
    return this.chunks[low];
  }

  /**
   * The kept bytes from `logOffset` to the end of the chunk holding it, at most `sizeBytesMax`
   * (a chunk holds whole records, so the slice ends at a record boundary unless cut by the bound).
   * Not marked exposed: the caller (log-reader.ts, shipping) copies what it keeps before it
   * returns, or uses a view at once after checking the chunk is still kept (keptFromLogOffset).
   */
  from(logOffset: number, sizeBytesMax: number): Buffer | undefined {
    const chunk = this.chunkAt(logOffset);
    if (!chunk) return undefined;
    const at = logOffset - chunk.logOffset;
    return at < chunk.bytes.length ? chunk.bytes.subarray(at, Math.min(chunk.bytes.length, at + sizeBytesMax)) : undefined;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.keptBytes = 0;
  }

  private checkGeneration(): void {
    if (this.log.generation === this.generation) return;
    this.clear();
    this.generation = this.log.generation;
  }
}
