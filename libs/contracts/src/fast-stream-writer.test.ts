// FastStreamWriter's chunk pool on a stream whose writes complete when the test says: a call's
// chunks go back to the pool only once the call is over and the stream has completed every write
// of them (node calls a write's callback once its bytes are out), never after a failed write,
// and a later call reuses them.
import type * as http2 from 'node:http2';
import { FastStreamWriter, pooledChunkBytes } from './fast-stream-writer';
import type { ScratchBuffer } from './fast-codec/wire';

/** The parts of a ServerHttp2Stream the writer uses; write callbacks wait in `pending`. */
class HeldStream {
  headersSent = false;
  destroyed = false;
  closed = false;
  readonly pending: ((error?: Error | null) => void)[] = [];
  readonly written: Buffer[] = [];
  respond(): void {
    this.headersSent = true;
  }
  write(chunk: Buffer, callback: (error?: Error | null) => void): boolean {
    this.written.push(chunk);
    this.pending.push(callback);
    return true;
  }
  end(): void {}
  cork(): void {}
  uncork(): void {}
  once(): this {
    return this;
  }
  complete(error?: Error): void {
    for (const callback of this.pending.splice(0)) callback(error);
  }
}

/** 1,500 frames of ~1 KiB: chunks of 16 KiB, 64 KiB, 256 KiB and 1 MiB. */
const encodeKiB = (fill: number, scratch: ScratchBuffer): Buffer => scratch.take(1000).fill(fill);
const FRAMES = 1_500;

function call(fill: number): { stream: HeldStream; writer: FastStreamWriter } {
  const stream = new HeldStream();
  const writer = new FastStreamWriter(stream as unknown as http2.ServerHttp2Stream, ((_: never, scratch: ScratchBuffer) => encodeKiB(fill, scratch)) as never);
  for (let i = 0; i < FRAMES; i++) writer.write({});
  writer.end({ code: 0, details: 'OK' });
  return { stream, writer };
}

describe('FastStreamWriter frames', () => {
  it('frames what encoders wrote in place (takeAt, then written()) and what they returned (take, or bytes elsewhere), in order', () => {
    const stream = new HeldStream();
    const encode = (message: { how: 'at' | 'take' | 'elsewhere'; size: number; fill: number }, scratch: ScratchBuffer): Buffer => {
      if (message.how === 'take') return scratch.take(message.size).fill(message.fill);
      if (message.how === 'elsewhere') return Buffer.alloc(message.size, message.fill);
      const at = scratch.takeAt(message.size);
      scratch.bytes.fill(message.fill, at, at + message.size);
      return scratch.written();
    };
    const writer = new FastStreamWriter(stream as unknown as http2.ServerHttp2Stream, encode as never);
    // Sizes that cross chunks (16 KiB, then 64 KiB) and one larger than a standard chunk.
    const messages = Array.from({ length: 60 }, (_, i) => ({ how: (['at', 'take', 'elsewhere'] as const)[i % 3], size: i === 40 ? 2_000_000 : 100 + 37 * i, fill: i }));
    for (const message of messages) writer.write(message);
    writer.end({ code: 0, details: 'OK' });
    const data = Buffer.concat(stream.written);
    let pos = 0;
    for (const message of messages) {
      expect(data[pos]).toBe(0);
      expect(data.readUInt32BE(pos + 1)).toBe(message.size);
      expect(data.subarray(pos + 5, pos + 5 + message.size).every((b) => b === message.fill)).toBe(true);
      pos += 5 + message.size;
    }
    expect(pos).toBe(data.length);
    stream.complete();
  });
});

describe('FastStreamWriter chunk pool', () => {
  it('takes a call\'s chunks back once the call is over and every write of them completed, and lends them to the next call', () => {
    const first = call(1);
    const during = pooledChunkBytes(); // what other calls left there, less what this one took
    expect(first.stream.pending.length).toBeGreaterThan(1);
    first.stream.pending.shift()!(); // one write done, others not
    expect(pooledChunkBytes()).toBe(during);
    first.stream.complete();
    const kept = pooledChunkBytes();
    expect(kept).toBeGreaterThan(during);

    const second = call(2);
    expect(pooledChunkBytes()).toBeLessThan(kept); // taken from the pool
    // What the first call handed to the stream is overwritten only after it completed; the second's frames are whole.
    const bodies = Buffer.concat(second.stream.written);
    for (let pos = 0; pos < bodies.length; pos += 5 + 1000) expect(bodies.subarray(pos + 5, pos + 1005).every((b) => b === 2)).toBe(true);
    second.stream.complete(new Error('stream reset'));
    expect(pooledChunkBytes()).toBeLessThan(kept); // a failed write keeps the chunks from the pool
  });
});
