// Frames of one stream's replies, encoded in place behind their 5-byte gRPC prefix in buffers that
// are reused once HTTP/2 has written them. A master ships its log to a slave in replies of up to
// 1 MiB: grpc-js copies each encoded reply into a fresh frame, and fresh memory per MiB costs page
// faults and the GC's external-memory pressure (docs/performance.md, waves 7 and 8). Here the
// encoder writes the reply once, into warm memory.
import { ScratchBuffer } from './fast-codec/wire';
import { FRAME_HEADER_BYTES } from './fast-stream-writer';

/** Frames below this size are small allocations from Node's pool, not worth keeping. */
const POOLED_FRAME_BYTES_MIN = 64 * 1024;
/** Free frames kept: the frames a stream has in flight (HTTP/2's window over the frame size), with room. */
const FREE_FRAMES_MAX = 16;

/** A frame to write: `bytes` (prefix and reply), and the pooled buffer they lie in, which goes back to the pool once written. */
export interface ReplyFrame {
  bytes: Buffer;
  pooled: Buffer | undefined;
}

export class ReusedFrames extends ScratchBuffer {
  private readonly free: Buffer[] = [];
  private current: Buffer | undefined;
  private currentPooled = false;

  /** `frameBytes`: the capacity of a pooled frame (the largest reply expected, prefix included); larger replies get memory of their own. */
  constructor(private readonly frameBytes: number) {
    super();
  }

  /** The bytes after a frame prefix's room, for the encoder; valid until the next take(). */
  override take(size: number): Buffer {
    const needed = FRAME_HEADER_BYTES + size;
    let frame: Buffer | undefined;
    this.currentPooled = needed >= POOLED_FRAME_BYTES_MIN && needed <= this.frameBytes;
    if (this.currentPooled) frame = this.free.pop() ?? Buffer.allocUnsafeSlow(this.frameBytes);
    else frame = Buffer.allocUnsafe(needed);
    this.current = frame;
    return frame.subarray(FRAME_HEADER_BYTES, needed);
  }

  /** Frames `body`, the encoder's result: in place when it is what take() gave, else copied. */
  frame(body: Buffer): ReplyFrame {
    let frame = this.current;
    const inPlace = frame !== undefined && body.buffer === frame.buffer && body.byteOffset === frame.byteOffset + FRAME_HEADER_BYTES;
    if (!inPlace) {
      body.copy(this.take(body.length));
      frame = this.current!;
    }
    this.current = undefined;
    frame![0] = 0;
    frame!.writeUInt32BE(body.length, 1);
    return { bytes: frame!.subarray(0, FRAME_HEADER_BYTES + body.length), pooled: this.currentPooled ? frame : undefined };
  }

  /** A pooled frame HTTP/2 has written (its write's callback came without an error): free for the next reply. */
  release(frame: ReplyFrame): void {
    if (frame.pooled !== undefined && this.free.length < FREE_FRAMES_MAX) this.free.push(frame.pooled);
  }
}
