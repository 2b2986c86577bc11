// What a batch's body digests cost (`npm run bench:md5`): CPU µs per input of md5HexUpperAll (SIMD
// lanes) against node:crypto one input at a time, rounds alternating. Options: --size <bytes per
// input> (default 1024), --batch <inputs per call> (default 256), --rounds (default 4).
import { randomBytes } from 'node:crypto';
import { md5HexUpper, md5HexUpperAll, md5LanesAvailable } from './md5-lanes';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

const size = option('--size', 1024);
const batch = option('--batch', 256);
const rounds = option('--rounds', 4);
const inputs = Array.from({ length: batch }, () => randomBytes(size));
const calls = Math.max(1, Math.round(200_000 / batch));

function cpuUsPerInput(run: () => void): number {
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i++) run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / (calls * batch);
}

console.log(`${size}-byte inputs, ${batch} per call, SIMD lanes ${md5LanesAvailable() ? 'on' : 'unavailable'}`);
for (let round = 1; round <= rounds; round++) {
  const lanes = cpuUsPerInput(() => md5HexUpperAll(inputs));
  const crypto = cpuUsPerInput(() => inputs.map(md5HexUpper));
  console.log(`round ${round}: lanes ${lanes.toFixed(3)} µs, node:crypto ${crypto.toFixed(3)} µs per input (${(lanes / crypto).toFixed(2)}×)`);
}
