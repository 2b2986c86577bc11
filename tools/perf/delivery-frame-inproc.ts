// The delivery frame encoder alone, in process: records like peerbench's rocketmq-raw sends (1 KiB
// body, message id, type, born host, digest), viewed where they lie in one buffer as the store's
// read blocks hold them, framed into a receive's chunks (FastStreamWriter's take/frame). Prints CPU
// ns per frame per round. Usage: node tools/run-ts.mjs tools/perf/delivery-frame-inproc.ts [--count 4000] [--rounds 8]
import { toAppendInput } from '@rmq/messaging';
import { encodeRecord, StoredRecord } from '@rmq/store';
import { ScratchBuffer } from '@rmq/contracts';
import { DeliveryFrame } from '../../apps/broker/src/delivery-frame';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const count = arg('count', 4000);
const rounds = arg('rounds', 8);
const body = Buffer.alloc(1024, 7);
const parts: Buffer[] = [];
for (let i = 0; i < count; i++) {
  const input = toAppendInput({
    topic: 'bench-topic', body, messageId: `01${String(i).padStart(30, '0')}`, messageType: 'NORMAL', keys: [],
    bornTimestampMs: 1_765_000_000_000 + i, bornHost: '127.0.0.1', userProperties: new Map(),
  }, i % 8);
  parts.push(encodeRecord(input, { queueId: i % 8, queueOffset: 1000 + i, logOffset: 1 << 20, storeTimestampMs: 1_765_000_000_100 + i }));
}
const block = Buffer.concat(parts);
const starts: number[] = [];
for (let i = 0, at = 0; i < count; at += parts[i].length, i++) starts.push(at);
const handle = 'A'.repeat(96);

/** FRESH=1: a new chunk whenever one is full (16 KiB growing 4x to 1 MiB per 1,000 frames, as a receive's chunks before the pool); else one chunk reused. */
const fresh = process.env.FRESH === '1';
const IN_PLACE = Buffer.alloc(0);
/** VIEW=1: a Buffer view per frame, as take() gave before takeAt(). */
const view = process.env.VIEW === '1';
/** As the fast path's FrameChunks: frames written in place behind a 5-byte header's room. */
class Chunks extends ScratchBuffer {
  chunk = Buffer.allocUnsafe(fresh ? 16 * 1024 : 4 << 20);
  used = 0;
  frames = 0;
  lastSize = 0;
  override takeAt(size: number): number {
    if (fresh && ++this.frames % 1000 === 0) (this.chunk = Buffer.allocUnsafe(16 * 1024), this.used = 0);
    if (this.used + 5 + size > this.chunk.length) {
      if (fresh) this.chunk = Buffer.allocUnsafe(Math.min(4 * this.chunk.length, 1 << 20));
      this.used = 0;
    }
    const start = this.used + 5;
    this.used = start + size;
    this.bytes = this.chunk;
    this.lastSize = size;
    return start;
  }
  override take(size: number): Buffer {
    const start = this.takeAt(size);
    return this.chunk.subarray(start, start + size);
  }
  override written(): Buffer {
    return view ? this.chunk.subarray(this.used - this.lastSize, this.used) : IN_PLACE;
  }
}
const chunks = new Chunks();
for (let round = 1; round <= rounds; round++) {
  const t0 = process.cpuUsage();
  const h0 = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const record = new StoredRecord(block, starts[i], true);
    const frame = new DeliveryFrame(record, handle, 1, 30_000, '127.0.0.1:8081', '').encodeInto(chunks);
    bytes += frame === IN_PLACE ? chunks.lastSize : frame.length;
  }
  const cpu = process.cpuUsage(t0);
  const wall = Number(process.hrtime.bigint() - h0);
  console.log(`round ${round}: ${((cpu.user + cpu.system) * 1000 / count).toFixed(0)} ns CPU, ${(wall / count).toFixed(0)} ns wall per frame (${bytes / count} bytes)`);
}
