// Recently read stretches of the commit log, in aligned blocks, for the consume path. The records
// of one queue are interleaved in the log with every other queue's (and the state journal's), so
// a receive that reads each queue of a topic in turn read the same stretch of log once per queue:
// about ten times the bytes delivered, each time into a fresh large Buffer. Reads go through here
// instead: each block is read once, records within one block are slices of it (no copy), a record
// across a block boundary is copied out of the blocks it touches.
// Only committed bytes are cached (below `readableEnd`), and the log changes below that only when
// it is cut back or started over (replicas), which bumps its generation and empties the cache.
// Blocks still filling (the log's tail) are not cached: consumers that keep up read there directly.
// Memory: at most blocksMax blocks of blockBytes each, oldest dropped first.

export interface BlockSource {
  readonly segmentSizeBytes: number;
  /** Changes whenever bytes already in the log may change (cut back, started over). */
  readonly generation: number;
  /** Up to sizeBytesMax bytes, fewer where the segment's file ends (a segment's padded tail is not written out). */
  readUpTo(logOffset: number, sizeBytesMax: number): Promise<Buffer>;
}

export interface LogRange {
  logOffset: number;
  sizeBytes: number;
}

/** Block start -> its bytes, for one read. */
export type LoadedBlocks = Map<number, Buffer>;

export class LogReadCache {
  private readonly blocks = new Map<number, Buffer>();
  /**
   * Block reads in flight: the queues of one receive are read at once and their records share
   * blocks, so each would otherwise read the same block itself (eight queues: eight reads).
   */
  private readonly reading = new Map<number, { generation: number; bytes: Promise<Buffer> }>();
  private generation: number;

  constructor(
    private readonly log: BlockSource,
    private readonly blockBytes: number,
    private readonly blocksMax: number,
  ) {
    this.generation = log.generation;
  }

  /**
   * Whether a record is read through the cache: not larger than a block, and in blocks wholly
   * readable now. The log's tail (the block still filling) is read directly, record by record as
   * before: caching it would read the whole partial block again for every new record.
   */
  covers(range: LogRange, readableEnd: number): boolean {
    return range.sizeBytes <= this.blockBytes && this.blockEnd(this.blockStart(range.logOffset + range.sizeBytes - 1)) <= readableEnd;
  }

  /**
   * The blocks the ranges touch (ranges in log order, each below `readableEnd`), read where not
   * cached; slice() then takes the ranges' bytes out of them.
   */
  async load(ranges: readonly LogRange[], readableEnd: number): Promise<LoadedBlocks> {
    if (this.log.generation !== this.generation) {
      this.blocks.clear();
      this.generation = this.log.generation;
    }
    const loaded: LoadedBlocks = new Map();
    for (const range of ranges) {
      const end = range.logOffset + range.sizeBytes;
      for (let start = this.blockStart(range.logOffset); start < end; start = this.blockEnd(start)) {
        const neededEnd = Math.min(end, this.blockEnd(start));
        const have = loaded.get(start) ?? this.blocks.get(start);
        if (have && start + have.length >= neededEnd) {
          loaded.set(start, have);
          continue;
        }
        // Whole blocks (covers()); only a segment's last block may come back short (its padded tail is not written out).
        const generation = this.log.generation;
        const bytes = await this.readBlock(start, Math.min(this.blockEnd(start), readableEnd) - start, generation);
        if (start + bytes.length < neededEnd) throw new Error(`the commit log ends at ${start + bytes.length}, before the record read up to ${neededEnd}`);
        loaded.set(start, bytes);
      }
    }
    return loaded;
  }

  /**
   * Reads a block, or joins the read of it already in flight (same block, same log generation).
   * The block is kept as soon as its read completes, before any reader resumes: a reader checking
   * after that finds it cached, one checking before finds the read in flight.
   */
  private readBlock(start: number, sizeBytes: number, generation: number): Promise<Buffer> {
    const inFlight = this.reading.get(start);
    if (inFlight && inFlight.generation === generation) return inFlight.bytes;
    const bytes = this.log.readUpTo(start, sizeBytes);
    const entry = { generation, bytes };
    this.reading.set(start, entry);
    const settled = () => {
      if (this.reading.get(start) === entry) this.reading.delete(start);
    };
    bytes.then((read) => {
      settled();
      if (this.log.generation !== generation) return; // cut back meanwhile: served (as an uncached read would be), not kept
      this.blocks.delete(start); // re-inserted: the newest block is dropped last
      this.blocks.set(start, read);
      while (this.blocks.size > this.blocksMax) this.blocks.delete(this.blocks.keys().next().value!);
    }, settled);
    return bytes;
  }

  /**
   * The loaded block holding all of a range that load() covered, and where the range starts in it;
   * undefined when the range spans blocks (slice() copies it out).
   */
  blockHolding(loaded: LoadedBlocks, logOffset: number, sizeBytes: number): Buffer | undefined {
    const start = this.blockStart(logOffset);
    const block = loaded.get(start);
    return block && start + block.length >= logOffset + sizeBytes ? block : undefined;
  }

  /** Where `logOffset` is in the block holding it (see blockHolding). */
  offsetInBlock(logOffset: number): number {
    return logOffset - this.blockStart(logOffset);
  }

  /** The bytes of a range that load() covered: a slice of one block, or a copy out of the blocks it spans. */
  slice(loaded: LoadedBlocks, logOffset: number, sizeBytes: number): Buffer {
    const start = this.blockStart(logOffset);
    const end = logOffset + sizeBytes;
    const block = loaded.get(start);
    if (block && start + block.length >= end) return block.subarray(logOffset - start, end - start);
    const out = Buffer.allocUnsafe(sizeBytes);
    for (let at = logOffset; at < end; ) {
      const blockStart = this.blockStart(at);
      const bytes = loaded.get(blockStart);
      const take = bytes ? Math.min(end, blockStart + bytes.length) - at : 0;
      if (!bytes || take <= 0) throw new Error(`log bytes at ${at} were not loaded`);
      bytes.copy(out, at - logOffset, at - blockStart, at - blockStart + take);
      at += take;
    }
    return out;
  }

  /** Aligned within the segment (a block never crosses a segment boundary). */
  private blockStart(logOffset: number): number {
    const segmentStart = logOffset - (logOffset % this.log.segmentSizeBytes);
    return segmentStart + Math.floor((logOffset - segmentStart) / this.blockBytes) * this.blockBytes;
  }

  private blockEnd(blockStart: number): number {
    const segmentEnd = blockStart - (blockStart % this.log.segmentSizeBytes) + this.log.segmentSizeBytes;
    return Math.min(blockStart + this.blockBytes, segmentEnd);
  }
}
