// V8 settings for the broker's heap, applied as the process starts (before the hot paths are compiled),
// so every launcher (npm start, the image, bench:peers, tests) runs the broker the same way.
//
// No allocation-site pretenuring: V8 moves an object literal's allocation site to the old space
// once the objects it made were all alive at a scavenge. In the broker some sites' objects wait for
// an fdatasync or a consumer's ack when a scavenge comes, so they are tenured; from then on each such
// object is born old, and while it waits for the next mark-compact (dead or not) it keeps alive the
// young objects it points to: the pending append's placements and promises, the journal's record,
// the send's closures. Every scavenge then copies and promotes them (nepotism). Without it, 3-4x
// less is promoted per scavenge and scavenges take half as long (docs/performance.md, wave 8).
// A node flag given on the command line (--allocation-site-pretenuring) wins.
import { setFlagsFromString } from 'node:v8';

export const HEAP_FLAGS = ['--no-allocation-site-pretenuring'];

/** The flags of HEAP_FLAGS that node's own command line does not set otherwise. */
export function heapFlagsToApply(execArgv: readonly string[]): string[] {
  const named = (flag: string) => flag.replace(/^--(no-)?/, '').replace(/=.*$/, '').replace(/_/g, '-');
  const given = new Set(execArgv.filter((arg) => arg.startsWith('--')).map(named));
  return HEAP_FLAGS.filter((flag) => !given.has(named(flag)));
}

for (const flag of heapFlagsToApply(process.execArgv)) setFlagsFromString(flag);
