// What the running sums of ProgressTotals add to each consumer progress change: a delivery and an
// ack of one queue state, made directly and through ProgressTotals.tracked, in the same run
// (part of `npm run bench:consumer-gauges`). Prints nanoseconds per pair and the difference.
import { ProgressTotals } from './progress-totals';
import { QueueConsumption } from './queue-consumption';

/** Nanoseconds per delivery-and-ack of one queue state, changed directly and through ProgressTotals.tracked. */
function costPerChangeNs(): [number, number] {
  const rounds = 200_000;
  const run = (tracked: boolean) => {
    const state = new QueueConsumption(0);
    const totals = new ProgressTotals();
    if (tracked) totals.added('g', 'T', 0, state);
    const entry = { deliveryId: 'd', visibleAtMs: 1, attempt: 1 };
    const startedMs = performance.now();
    for (let offset = 0; offset < rounds; offset++) {
      if (tracked) {
        totals.tracked(state, () => state.admit(offset, undefined, entry));
        totals.tracked(state, () => state.complete(offset, 'd'));
      } else {
        state.admit(offset, undefined, entry);
        state.complete(offset, 'd');
      }
    }
    return ((performance.now() - startedMs) * 1e6) / rounds;
  };
  const samples: [number[], number[]] = [[], []];
  for (let i = 0; i < 7; i++) {
    samples[0].push(run(false));
    samples[1].push(run(true));
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[3];
  return [median(samples[0]), median(samples[1])];
}

const [plainNs, trackedNs] = costPerChangeNs();
console.log(`a delivery + an ack of one queue state, without / with the running sums: ${plainNs.toFixed(0)} / ${trackedNs.toFixed(0)} ns (+${(trackedNs - plainNs).toFixed(0)} ns)`);
