// The reply side of a server-streaming call the fast path answers (fast-path.ts). grpc-js
// writes one message per HTTP/2 write, each copied once more behind its 5-byte length prefix, the
// next one only after the previous write completed. Here every message is encoded straight into
// the call's chunks behind its prefix (no second copy), the frames a call writes in one tick lie back
// to back and go out as one HTTP/2 write (a write of several buffers when they span chunks), and
// what the client sees is what grpc-js sends: its headers on the first write, `grpc-status` and
// `grpc-message` trailers, or a trailers-only answer when nothing was written.
import type * as http2 from 'node:http2';
import { ScratchBuffer } from './fast-codec/wire';

export const FRAME_HEADER_BYTES = 5;
export const REPLY_HEADERS = { ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-accept-encoding': 'identity,deflate,gzip', 'grpc-encoding': 'identity' };
/** grpc-js's trailers-only answer has no encoding headers. */
const TRAILERS_ONLY_HEADERS = { ':status': 200, 'content-type': 'application/grpc+proto' };

/** A trailers-only answer, as grpc-js gives one: the status in the response's only headers. */
export function trailersOnly(status: CallStatus): http2.OutgoingHttpHeaders {
  return { ...TRAILERS_ONLY_HEADERS, 'grpc-status': String(status.code), 'grpc-message': encodeURI(status.details) };
}
/** A call's first chunk (a long poll's lone status frame fits, with room for a few messages); later chunks 4× larger, up to CHUNK_BYTES_MAX. */
const CHUNK_BYTES_FIRST = 16 * 1024;
const CHUNK_BYTES_MAX = 1024 * 1024;
/** What the pool keeps at most: four receives of 1,000 × 1 KiB at once use ~2.3 MiB of chunks each. */
const POOL_BYTES_MAX = 12 * 1024 * 1024;

/**
 * Chunks of calls whose every write the HTTP/2 stream has completed (node calls a write's callback
 * once its bytes are out of the process or copied: the chunk is then ours again), for the next
 * calls. A fresh chunk per receive cost ~0.2 µs per frame written into it (its pages touched for
 * the first time; tools/perf/delivery-frame-inproc.ts, FRESH=1) and external memory the GC
 * counts. Only the standard sizes are kept (16 KiB × 4^n up to 1 MiB); a chunk made larger for one
 * large message is left to the GC.
 */
class ChunkPool {
  private readonly free = new Map<number, Buffer[]>();
  private bytes = 0;

  get bytesKept(): number {
    return this.bytes;
  }

  take(size: number): Buffer {
    const chunk = this.free.get(size)?.pop();
    if (chunk === undefined) return Buffer.allocUnsafe(size);
    this.bytes -= size;
    return chunk;
  }

  give(chunks: readonly Buffer[]): void {
    for (const chunk of chunks) {
      const size = chunk.length;
      if (!standardSize(size) || this.bytes + size > POOL_BYTES_MAX) continue;
      let list = this.free.get(size);
      if (list === undefined) this.free.set(size, (list = []));
      list.push(chunk);
      this.bytes += size;
    }
  }
}

function standardSize(size: number): boolean {
  for (let standard = CHUNK_BYTES_FIRST; standard <= CHUNK_BYTES_MAX; standard *= 4) if (size === standard) return true;
  return false;
}

const chunkPool = new ChunkPool();

/** The bytes of the chunks the pool holds (tests). */
export function pooledChunkBytes(): number {
  return chunkPool.bytesKept;
}

/**
 * One call's frames, encoded in place: `take` hands an encoder the bytes after a frame header's
 * room in the current chunk, `frame` writes the header in front of what it encoded. Chunks are
 * only appended to, never reused (a frame's bytes may wait in the HTTP/2 stream's queue), and are
 * the call's own: a slow reader holds no more memory than what was written to it, not a chunk
 * shared with other calls.
 */
/** What FrameChunks.written() answers: the frame is where takeAt() said, of the size it was asked. */
const WRITTEN_IN_PLACE = Buffer.alloc(0);

class FrameChunks extends ScratchBuffer {
  chunk: Buffer = Buffer.alloc(0);
  used = 0;
  /** Every chunk this call took, for the pool once the stream is done with them. */
  readonly taken: Buffer[] = [];
  private bodyStart = -1;
  private bodyLength = 0;

  override take(size: number): Buffer {
    this.reserveFrame(size);
    return this.chunk.subarray(this.bodyStart, this.bodyStart + size);
  }

  override takeAt(size: number): number {
    this.reserveFrame(size);
    this.bytes = this.chunk;
    this.bodyLength = size;
    return this.bodyStart;
  }

  override written(): Buffer {
    return WRITTEN_IN_PLACE;
  }

  private reserveFrame(size: number): void {
    if (this.chunk.length - this.used < FRAME_HEADER_BYTES + size) {
      const grown = this.chunk.length === 0 ? CHUNK_BYTES_FIRST : Math.min(4 * this.chunk.length, CHUNK_BYTES_MAX);
      const needed = FRAME_HEADER_BYTES + size;
      this.chunk = needed <= grown ? chunkPool.take(grown) : Buffer.allocUnsafe(needed);
      this.taken.push(this.chunk);
      this.used = 0;
    }
    this.bodyStart = this.used + FRAME_HEADER_BYTES;
  }

  /**
   * Frames `body`, the encoder's result: in place when it is what take() gave or what takeAt()
   * said (WRITTEN_IN_PLACE), else copied. Returns the frame's start in `chunk`.
   */
  frame(body: Buffer): number {
    let length = body.length;
    if (body === WRITTEN_IN_PLACE) {
      if (this.bodyStart < 0) throw new Error('a frame written in place without takeAt()');
      length = this.bodyLength;
    } else if (!(this.bodyStart >= 0 && body.buffer === this.chunk.buffer && body.byteOffset === this.chunk.byteOffset + this.bodyStart && this.bodyStart + length <= this.chunk.length)) {
      body.copy(this.take(length));
    }
    const start = this.bodyStart - FRAME_HEADER_BYTES;
    const chunk = this.chunk;
    chunk[start] = 0;
    chunk[start + 1] = length >>> 24;
    chunk[start + 2] = (length >>> 16) & 0xff;
    chunk[start + 3] = (length >>> 8) & 0xff;
    chunk[start + 4] = length & 0xff;
    this.used = this.bodyStart + length;
    this.bodyStart = -1;
    return start;
  }
}

/** A call's status as grpc-js sends it. */
export interface CallStatus {
  code: number;
  details: string;
}

/** Writes one call's frames and status on its HTTP/2 stream. */
export class FastStreamWriter {
  /** Frames written and not yet handed to the stream: whole runs, then the run being extended. */
  private runs: Buffer[] = [];
  private runChunk: Buffer | undefined;
  private runStart = 0;
  private runEnd = 0;
  private flushQueued = false;
  private waitingDrain = false;
  private status: CallStatus | undefined;
  private finished = false;
  private readonly chunks = new FrameChunks();
  private readonly flushNow = (): void => this.flush();
  /** Writes handed to the stream whose callback has not come; a write that failed keeps the chunks from the pool. */
  private writesPending = 0;
  private writeFailed = false;
  private readonly onWritten = (error?: Error | null): void => {
    this.writesPending--;
    if (error) this.writeFailed = true;
    this.recycle();
  };

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly encodeInto: (message: never, scratch: ScratchBuffer) => Buffer,
  ) {}

  /** False while the stream wants no more (the caller may go on: the frames wait here, not in the stream). */
  write(message: unknown): boolean {
    if (this.finished) return false;
    const chunks = this.chunks;
    const start = chunks.frame(this.encodeInto(message as never, chunks));
    const chunk = chunks.chunk;
    if (chunk === this.runChunk && start === this.runEnd) {
      this.runEnd = chunks.used;
    } else {
      if (this.runChunk !== undefined) this.runs.push(this.runChunk.subarray(this.runStart, this.runEnd));
      this.runChunk = chunk;
      this.runStart = start;
      this.runEnd = chunks.used;
    }
    if (!this.flushQueued && !this.waitingDrain) {
      this.flushQueued = true;
      queueMicrotask(this.flushNow);
    }
    return !this.waitingDrain;
  }

  /** Ends the call with `status` after the frames written: with the frames in one write when they are all there. */
  end(status: CallStatus): void {
    if (this.finished) return;
    this.finished = true;
    this.status = status;
    if (!this.waitingDrain) this.flush();
  }

  /** Ends the call now with `status` (a deadline passed, a frame could not be encoded): frames not yet handed to the stream are dropped. */
  fail(status: CallStatus): void {
    if (this.stream.destroyed || this.stream.closed || (this.finished && this.status === undefined)) return;
    this.dropPending();
    this.finished = true;
    this.status = status;
    this.waitingDrain = false;
    this.flush();
  }

  get ended(): boolean {
    return this.finished;
  }

  /** The call's chunks back to the pool: once it is over and the stream has completed every write of them. */
  private recycle(): void {
    if (this.writesPending !== 0 || !this.finished || this.status !== undefined || this.writeFailed) return;
    this.writeFailed = true; // once
    chunkPool.give(this.chunks.taken);
  }

  private dropPending(): void {
    this.runs = [];
    this.runChunk = undefined;
  }

  private flush(): void {
    this.flushQueued = false;
    const stream = this.stream;
    if (this.waitingDrain || stream.destroyed || stream.closed) return;
    const frames = this.runs;
    if (this.runChunk !== undefined) frames.push(this.runChunk.subarray(this.runStart, this.runEnd));
    this.dropPending();
    const status = this.finished ? this.status : undefined;
    if (status !== undefined) this.status = undefined; // sent once
    if (!stream.headersSent) {
      if (frames.length === 0) {
        // grpc-js's trailers-only answer: nothing was written.
        if (status !== undefined) (stream.respond(trailersOnly(status), { endStream: true }), this.recycle());
        return;
      }
      stream.respond(REPLY_HEADERS, { waitForTrailers: true });
    }
    if (status !== undefined) {
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(status.code), 'grpc-message': encodeURI(status.details) }));
    }
    if (frames.length === 0) {
      if (status !== undefined) (stream.end(), this.recycle());
      return;
    }
    if (frames.length > 1) stream.cork();
    let room = true;
    this.writesPending += frames.length;
    for (let i = 0; i < frames.length; i++) room = stream.write(frames[i], this.onWritten);
    if (status !== undefined) {
      stream.end(); // uncorks
      return;
    }
    if (frames.length > 1) stream.uncork();
    if (!room) {
      this.waitingDrain = true;
      stream.once('drain', () => {
        this.waitingDrain = false;
        this.flush();
      });
    }
  }
}
