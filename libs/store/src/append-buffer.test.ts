import { AppendBuffer } from './append-buffer';
import { STORE_LIMITS } from './limits';

const SLAB = STORE_LIMITS.appendSlabBytes;

describe('AppendBuffer', () => {
  it('puts contiguous claims of one segment into one chunk, in log order', () => {
    const buffer = new AppendBuffer(1000);
    for (const [logOffset, sizeBytes] of [[0, 100], [100, 50], [150, 10]]) buffer.claim(logOffset, sizeBytes);
    const chunks = buffer.take();
    expect(chunks.map((chunk) => [chunk.logOffset, chunk.bytes.length])).toEqual([[0, 160]]);
    expect(buffer.take()).toEqual([]);
  });

  it('starts a new chunk at a segment boundary even when the claims are contiguous (a record filled its segment exactly)', () => {
    const buffer = new AppendBuffer(1000);
    buffer.claim(900, 100);
    buffer.claim(1000, 30);
    expect(buffer.take().map((chunk) => [chunk.logOffset, chunk.bytes.length])).toEqual([[900, 100], [1000, 30]]);
  });

  it('starts a new chunk after a gap (a blank covers the rest of a segment)', () => {
    const buffer = new AppendBuffer(1000);
    buffer.claim(980, 8);
    buffer.claim(1000, 40);
    expect(buffer.take().map((chunk) => [chunk.logOffset, chunk.bytes.length])).toEqual([[980, 8], [1000, 40]]);
  });

  it('keeps bytes already handed out when later claims are written', () => {
    const buffer = new AppendBuffer(1 << 30);
    const first = buffer.claim(0, 4);
    first.buffer.write('abcd', first.at);
    const [chunk] = buffer.take();
    const second = buffer.claim(4, 4);
    second.buffer.write('wxyz', second.at);
    expect(chunk.bytes.toString()).toBe('abcd');
  });

  it('refuses a claim that goes back in the log', () => {
    const buffer = new AppendBuffer(1000);
    buffer.claim(100, 10);
    expect(() => buffer.claim(50, 10)).toThrow('append buffer claims must follow log order');
  });

  /** Fills `slabs` slabs, a quarter of one per claim; returns the slab of each claim, in order. */
  function fillSlabs(buffer: AppendBuffer, fromLogOffset: number, slabs: number): Buffer[] {
    const used: Buffer[] = [];
    for (let i = 0; i < slabs * 4; i++) used.push(buffer.claim(fromLogOffset + i * (SLAB / 4), SLAB / 4).buffer);
    return used;
  }

  it('reuses a full slab once every byte of it is below reusableBelow and no reader saw it', () => {
    let below = 0;
    const buffer = new AppendBuffer(1 << 40, () => below);
    const first = fillSlabs(buffer, 0, 1)[0];
    buffer.take();
    const second = fillSlabs(buffer, SLAB, 1)[0];
    expect(second).not.toBe(first); // the first slab's bytes are still needed (below = 0)
    buffer.take();
    below = SLAB; // the first slab's bytes are acknowledged and no longer kept
    const third = fillSlabs(buffer, 2 * SLAB, 1)[0];
    expect(third).toBe(first);
    const fourth = fillSlabs(buffer, 3 * SLAB, 1)[0];
    expect(fourth).not.toBe(second); // the second slab ends at 2 * SLAB, above `below`
  });

  it('never reuses a slab a reader was handed a view of, nor one of another size', () => {
    const buffer = new AppendBuffer(1 << 40, () => Number.MAX_SAFE_INTEGER);
    const first = fillSlabs(buffer, 0, 1)[0];
    const [chunk] = buffer.take();
    chunk.exposed = true; // RecentWrites.find handed out a view of it
    const second = fillSlabs(buffer, SLAB, 1)[0];
    expect(second).not.toBe(first);
    buffer.take();
    const big = buffer.claim(2 * SLAB, SLAB + 1).buffer; // a record larger than a slab gets its own
    expect(big.length).toBe(SLAB + 1);
    buffer.take();
    expect(buffer.claim(3 * SLAB + 1, 10).buffer).toBe(second); // the second slab, not the big one
  });

  it('reuses nothing without reusableBelow, nor after a reset', () => {
    const seen = new Set<Buffer>();
    const plain = new AppendBuffer(1 << 40);
    for (const slab of fillSlabs(plain, 0, 3)) seen.add(slab);
    expect(seen.size).toBe(3);
    let below = 0;
    const buffer = new AppendBuffer(1 << 40, () => below);
    const first = fillSlabs(buffer, 0, 1)[0];
    buffer.claim(SLAB, 10); // a second slab; the first waits for reuse
    buffer.take();
    buffer.reset(); // the log was cut back: offsets start over
    below = Number.MAX_SAFE_INTEGER;
    expect(fillSlabs(buffer, 0, 2)).not.toContain(first);
  });
});
