import { createProgress } from './progress';

function capture(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, output: { isTTY, write: (text: string) => void chunks.push(text) } };
}

describe('progress', () => {
  it('writes a plain line at every tenth when the output is not a terminal', () => {
    const { chunks, output } = capture(false);
    const progress = createProgress('sent', 200, output, () => 0);
    for (let i = 0; i < 200; i++) progress.advance();
    progress.done();
    expect(chunks).toHaveLength(10);
    expect(chunks[0]).toBe('sent 20/200 (10%)\n');
    expect(chunks[9]).toBe('sent 200/200 (100%)\n');
    expect(chunks.join('')).not.toContain('\r');
  });

  it('redraws one bar in place on a terminal, at most every 100 ms, and ends the line when done', () => {
    const { chunks, output } = capture(true);
    let nowMs = 0;
    const progress = createProgress('sent', 100, output, () => nowMs);
    progress.advance(50); // drawn: the first
    progress.advance(10); // same instant: not drawn
    nowMs = 150;
    progress.advance(40); // the end: drawn
    progress.done();
    expect(chunks).toEqual([
      `\r[${'#'.repeat(15)}${'.'.repeat(15)}] sent 50/100 (50%)`,
      `\r[${'#'.repeat(30)}] sent 100/100 (100%)`,
      `\r[${'#'.repeat(30)}] sent 100/100 (100%)`,
      '\n',
    ]);
  });

  it('shows nothing for small work', () => {
    const { chunks, output } = capture(true);
    const progress = createProgress('sent', 10, output, () => 0);
    progress.advance(10);
    progress.done();
    expect(chunks).toEqual([]);
  });
});
