import { AppendBuffer } from './append-buffer';

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
});
