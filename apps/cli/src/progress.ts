// Progress of long work (many messages): a bar redrawn in place when stderr is a terminal, plain
// lines at every tenth otherwise (logs and pipes get no carriage returns). Written to stderr, so
// stdout keeps only the results (and --json stays parseable).

export interface Progress {
  advance(count?: number): void;
  done(): void;
}

const BAR_WIDTH = 30;
/** A terminal is redrawn at most this often. */
const REDRAW_INTERVAL_MS = 100;
/** Below this much work no progress is shown at all. */
export const PROGRESS_TOTAL_MIN = 100;

export function createProgress(label: string, total: number, output: { write(text: string): void; isTTY?: boolean }, nowMs: () => number): Progress {
  if (total < PROGRESS_TOTAL_MIN) return { advance() {}, done() {} };
  let finished = 0;
  let lastDrawMs = -Infinity;
  let lastTenth = 0;
  const line = () => `${label} ${finished}/${total} (${Math.floor((finished / total) * 100)}%)`;
  const draw = () => {
    const filled = Math.round((finished / total) * BAR_WIDTH);
    output.write(`\r[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${line()}`);
  };
  return {
    advance(count = 1) {
      finished = Math.min(total, finished + count);
      if (output.isTTY) {
        if (nowMs() - lastDrawMs >= REDRAW_INTERVAL_MS || finished === total) {
          lastDrawMs = nowMs();
          draw();
        }
        return;
      }
      const tenth = Math.floor((finished / total) * 10);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        output.write(`${line()}\n`);
      }
    },
    done() {
      if (output.isTTY) {
        draw();
        output.write('\n');
      }
    },
  };
}
