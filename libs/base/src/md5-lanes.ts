// MD5 digests (upper-case hex) of many inputs at once: the body digest every stored message gets.
// OpenSSL's MD5 of 1 KiB costs about 1.4 µs plus 0.4 µs per call here, most of a batch's hashing;
// inputs of the same length in whole blocks go up to eight at a time through the SIMD lanes of a
// small WebAssembly module (md5-lanes-wasm.ts: 0.44 µs per 1 KiB input of eight), the rest (a lone input, one over the lane size, or a
// runtime without WebAssembly SIMD) through node:crypto as before. Same digests either way
// (md5-lanes.test.ts checks them against node:crypto).
import { hash } from 'node:crypto';
import { DIGESTS_AT, LANE_BYTES_MAX, LANES_MAX, md5LanesModuleBytes } from './md5-lanes-wasm';

const BLOCK_BYTES = 64;
/** MD5's padding: a 0x80 byte, zeros, the length in bits as a little-endian u64, to a whole block. */
const PADDING_BYTES_MIN = 9;
/** Fewer inputs than this cost less through node:crypto (md5-lanes.bench.ts: two 100-byte inputs 1.08×, three of 1 KiB 0.63×). */
const LANES_USED_MIN = 3;

interface Lanes {
  md5x4: (blockCount: number) => void;
  md5x8: (blockCount: number) => void;
  memory: Buffer;
}

/** The part of the WebAssembly API used (this lib's TypeScript setup has no DOM types, where it is declared). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

let lanes: Lanes | undefined | null = null;

/** The module, instantiated on first use; undefined where WebAssembly SIMD is not available. */
function lanesOrUndefined(): Lanes | undefined {
  if (lanes !== null) return lanes;
  try {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (!wasm) return (lanes = undefined);
    const instance = new wasm.Instance(new wasm.Module(md5LanesModuleBytes()));
    const exports = instance.exports as { md5x4: (blockCount: number) => void; md5x8: (blockCount: number) => void; memory: { buffer: ArrayBuffer } };
    // The memory never grows, so one view of it stays valid.
    lanes = { md5x4: exports.md5x4, md5x8: exports.md5x8, memory: Buffer.from(exports.memory.buffer) };
  } catch {
    lanes = undefined;
  }
  return lanes;
}

/** Whether batches go through the SIMD lanes here (else every digest is node:crypto's). */
export function md5LanesAvailable(): boolean {
  return lanesOrUndefined() !== undefined;
}

/** The upper-case hex MD5 of one input (node:crypto; no Hash object). */
export function md5HexUpper(input: Uint8Array): string {
  return hash('md5', input, 'hex').toUpperCase();
}

function blockCountOf(input: Uint8Array): number {
  return Math.floor((input.byteLength + PADDING_BYTES_MIN + BLOCK_BYTES - 1) / BLOCK_BYTES);
}

/** The upper-case hex MD5 of each input, in order. */
export function md5HexUpperAll(inputs: readonly Uint8Array[]): string[] {
  const digests = new Array<string>(inputs.length);
  const simd = inputs.length > 1 ? lanesOrUndefined() : undefined;
  let i = 0;
  while (i < inputs.length) {
    const blockCount = blockCountOf(inputs[i]);
    // The next inputs with the same block count, up to eight, go through the lanes together.
    let group = 1;
    if (simd && blockCount * BLOCK_BYTES <= LANE_BYTES_MAX) {
      while (group < LANES_MAX && i + group < inputs.length && blockCountOf(inputs[i + group]) === blockCount) group++;
    }
    if (group < LANES_USED_MIN) {
      for (const end = i + group; i < end; i++) digests[i] = md5HexUpper(inputs[i]);
      continue;
    }
    const memory = simd!.memory;
    for (let lane = 0; lane < group; lane++) padInto(memory, lane * LANE_BYTES_MAX, inputs[i + lane], blockCount);
    // Lanes past the group hash whatever they hold; their digests are not read.
    if (group > 4) simd!.md5x8(blockCount);
    else simd!.md5x4(blockCount);
    for (let lane = 0; lane < group; lane++) digests[i + lane] = memory.toString('latin1', DIGESTS_AT + lane * 32, DIGESTS_AT + lane * 32 + 32);
    i += group;
  }
  return digests;
}

/** The input and MD5's padding at `at`: `blockCount` whole blocks. */
function padInto(memory: Buffer, at: number, input: Uint8Array, blockCount: number): void {
  const length = input.byteLength;
  const end = at + blockCount * BLOCK_BYTES;
  memory.set(input, at);
  memory[at + length] = 0x80;
  memory.fill(0, at + length + 1, end - 8);
  const bits = length * 8;
  memory.writeUInt32LE(bits >>> 0, end - 8);
  memory.writeUInt32LE(Math.floor(bits / 0x1_0000_0000), end - 4);
}
