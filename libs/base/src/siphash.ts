// SipHash-2-4 (Aumasson and Bernstein): a keyed hash made for short inputs, used as a MAC where
// node:crypto's per-call object setup (several microseconds for a 40-byte HMAC on Node 20) would
// dominate. 64-bit arithmetic is done on 32-bit halves; the result is the 8 tag bytes, written
// little-endian as the reference implementation does.
import { DATA_AT, MEMORY_BYTES, STATE_AT, sipHashModuleBytes } from './siphash-wasm';

/** A 128-bit key as four little-endian 32-bit words: k0 low, k0 high, k1 low, k1 high. */
export type SipHashKey = Uint32Array;

export function sipHashKey(key: Uint8Array): SipHashKey {
  if (key.byteLength !== 16) throw new Error(`a SipHash key is 16 bytes, got ${key.byteLength}`);
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = (key[4 * i] | (key[4 * i + 1] << 8) | (key[4 * i + 2] << 16) | (key[4 * i + 3] << 24)) >>> 0;
  return words;
}

/**
 * SipHash's state after the whole 8-byte blocks at the start of a message: a prefix many messages
 * share (receipt handles: the consumer group and topic) is hashed once, and each message resumes
 * from it (sipHash24Resume) with only its own bytes.
 */
export interface SipHashPrefix {
  /** v0..v3 as low/high 32-bit halves. */
  readonly state: Uint32Array;
  /** Bytes absorbed (a multiple of 8). */
  readonly length: number;
}

/** The state after absorbing data[start, end), a whole number of 8-byte blocks. */
export function sipHashPrefix(key: SipHashKey, data: Uint8Array, start: number, end: number): SipHashPrefix {
  if ((end - start) % 8 !== 0) throw new Error(`a SipHash prefix is whole 8-byte blocks, got ${end - start} bytes`);
  const state = initialState(key, new Uint32Array(8));
  run(state, 0, data, start, end, false, NO_OUT, 0);
  return { state, length: end - start };
}

/** SipHash-2-4 of prefix + data[start, end) written as 8 bytes at out[at]. */
export function sipHash24Resume(prefix: SipHashPrefix, data: Uint8Array, start: number, end: number, out: Uint8Array, at: number): void {
  run(prefix.state, prefix.length, data, start, end, true, out, at);
}

const scratchState = new Uint32Array(8);
const NO_OUT = new Uint8Array(0);

/** SipHash-2-4 of data[start, end) written as 8 bytes at out[at]. */
export function sipHash24(key: SipHashKey, data: Uint8Array, start: number, end: number, out: Uint8Array, at: number): void {
  run(initialState(key, scratchState), 0, data, start, end, true, out, at);
}

function initialState(key: SipHashKey, state: Uint32Array): Uint32Array {
  state[0] = key[0] ^ 0x70736575;
  state[1] = key[1] ^ 0x736f6d65;
  state[2] = key[2] ^ 0x6e646f6d;
  state[3] = key[3] ^ 0x646f7261;
  state[4] = key[0] ^ 0x6e657261;
  state[5] = key[1] ^ 0x6c796765;
  state[6] = key[2] ^ 0x79746573;
  state[7] = key[3] ^ 0x74656462;
  return state;
}

/**
 * Absorbs data[start, end) into `state` (after `before` bytes). `finish`: the last block and the
 * final rounds follow, and the 8 tag bytes go to out[at]; else the data is whole blocks and the
 * state after them is written back to `state`.
 */
function run(state: Uint32Array, before: number, data: Uint8Array, start: number, end: number, finish: boolean, out: Uint8Array, at: number): void {
  // v0..v3 as low/high 32-bit halves in locals: V8 keeps them in registers.
  let v0l = state[0];
  let v0h = state[1];
  let v1l = state[2];
  let v1h = state[3];
  let v2l = state[4];
  let v2h = state[5];
  let v3l = state[6];
  let v3h = state[7];
  let t = 0;

  const length = before + end - start;
  const blocksEnd = start + ((end - start) & ~7);
  let i = start;
  let ml = 0;
  let mh = 0;
  let rounds = 0;
  // One loop for the message blocks, the last block and the 4 final rounds: `rounds` says how
  // many SipRounds follow the current block.
  for (let phase = 0; phase < 3; ) {
    if (phase === 0) {
      if (i < blocksEnd || !finish) {
        if (i >= blocksEnd) break; // a prefix: whole blocks only, no finalization
        ml = (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) >>> 0;
        mh = (data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24)) >>> 0;
        i += 8;
      } else {
        // Last block: the remaining 0..7 bytes, and the length's low byte in the top byte.
        ml = 0;
        mh = (length & 0xff) << 24;
        for (let shift = 0; i < end; i++, shift += 8) {
          if (shift < 32) ml |= data[i] << shift;
          else mh |= data[i] << (shift - 32);
        }
        ml >>>= 0;
        mh >>>= 0;
        phase = 1;
      }
      v3l = (v3l ^ ml) >>> 0;
      v3h = (v3h ^ mh) >>> 0;
      rounds = 2;
    } else {
      v2l = (v2l ^ 0xff) >>> 0;
      rounds = 4;
      phase = 3;
    }
    for (let r = 0; r < rounds; r++) {
      // v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32
      t = v0l + v1l;
      v0h = (v0h + v1h + (t > 0xffffffff ? 1 : 0)) >>> 0;
      v0l = t >>> 0;
      t = (v1h << 13) | (v1l >>> 19);
      v1l = ((v1l << 13) | (v1h >>> 19)) ^ v0l;
      v1h = t ^ v0h;
      t = v0l;
      v0l = v0h;
      v0h = t;
      // v2 += v3; v3 <<<= 16; v3 ^= v2
      t = v2l + v3l;
      v2h = (v2h + v3h + (t > 0xffffffff ? 1 : 0)) >>> 0;
      v2l = t >>> 0;
      t = (v3h << 16) | (v3l >>> 16);
      v3l = ((v3l << 16) | (v3h >>> 16)) ^ v2l;
      v3h = t ^ v2h;
      // v0 += v3; v3 <<<= 21; v3 ^= v0
      t = v0l + (v3l >>> 0);
      v0h = (v0h + (v3h >>> 0) + (t > 0xffffffff ? 1 : 0)) >>> 0;
      v0l = t >>> 0;
      t = (v3h << 21) | (v3l >>> 11);
      v3l = ((v3l << 21) | (v3h >>> 11)) ^ v0l;
      v3h = t ^ v0h;
      // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32
      t = v2l + (v1l >>> 0);
      v2h = (v2h + (v1h >>> 0) + (t > 0xffffffff ? 1 : 0)) >>> 0;
      v2l = t >>> 0;
      t = (v1h << 17) | (v1l >>> 15);
      v1l = ((v1l << 17) | (v1h >>> 15)) ^ v2l;
      v1h = t ^ v2h;
      t = v2l;
      v2l = v2h;
      v2h = t;
      v1l >>>= 0;
      v1h >>>= 0;
      v3l >>>= 0;
      v3h >>>= 0;
    }
    if (phase < 3) {
      v0l = (v0l ^ ml) >>> 0;
      v0h = (v0h ^ mh) >>> 0;
      if (phase === 1) phase = 2;
    }
  }
  if (!finish) {
    state[0] = v0l;
    state[1] = v0h;
    state[2] = v1l;
    state[3] = v1h;
    state[4] = v2l;
    state[5] = v2h;
    state[6] = v3l;
    state[7] = v3h;
    return;
  }
  const outLo = (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
  const outHi = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
  for (let b = 0; b < 4; b++) {
    out[at + b] = outLo >>> (8 * b);
    out[at + 4 + b] = outHi >>> (8 * b);
  }
}

/**
 * Where a message is written to be tagged by sipHashScratch().resume: WebAssembly memory when the
 * runtime has it (siphash-wasm.ts: 64-bit words natively, several times faster than `run` above
 * on a receipt handle's 28 bytes), else a Buffer hashed by `run`. Same tags either way.
 */
export interface SipHashScratch {
  /** Whether it runs in WebAssembly. */
  readonly wasm: boolean;
  /** The message goes here from byte 0; its tag is written right after it. Never replaced. */
  readonly bytes: Buffer;
  /** The longest message `resume` takes (bytes.length less the tag and the masked last load). */
  readonly lengthMax: number;
  /** SipHash-2-4 of prefix + bytes[0, length), written at bytes[length, length + 8). Synchronous. */
  resume(prefix: SipHashPrefix, length: number): void;
}

/** The part of the WebAssembly API used (this lib's TypeScript setup has no DOM types, where it is declared). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

let scratchInstance: SipHashScratch | undefined;

/** The process's one scratch (made on first use): its callers are synchronous, so one serves them all. */
export function sipHashScratch(): SipHashScratch {
  return (scratchInstance ??= createSipHashScratch());
}

/** A new scratch: in WebAssembly unless `useWasm` is false or the runtime has none (tests compare the two). */
export function createSipHashScratch(useWasm = true): SipHashScratch {
  return (useWasm ? wasmScratch() : undefined) ?? jsScratch();
}

/** A scratch's message leaves its last 8 bytes for the tag. */
function checkScratchLength(bytes: Buffer, length: number): void {
  if (!(length >= 0 && length <= bytes.length - 8)) throw new Error(`a SipHash scratch message is at most ${bytes.length - 8} bytes, got ${length}`);
}

function wasmScratch(): SipHashScratch | undefined {
  try {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (!wasm) return undefined;
    const exports = new wasm.Instance(new wasm.Module(sipHashModuleBytes())).exports as { resume: (length: number, before: number) => void; memory: { buffer: ArrayBuffer } };
    const buffer = exports.memory.buffer; // never grown: these views stay valid
    const state = new Uint32Array(buffer, STATE_AT, 8);
    const bytes = Buffer.from(buffer, DATA_AT, MEMORY_BYTES - DATA_AT);
    const resume = exports.resume;
    return {
      wasm: true,
      bytes,
      lengthMax: bytes.length - 8,
      resume(prefix: SipHashPrefix, length: number): void {
        checkScratchLength(bytes, length);
        const from = prefix.state;
        state[0] = from[0];
        state[1] = from[1];
        state[2] = from[2];
        state[3] = from[3];
        state[4] = from[4];
        state[5] = from[5];
        state[6] = from[6];
        state[7] = from[7];
        resume(length, prefix.length);
      },
    };
  } catch {
    return undefined;
  }
}

function jsScratch(): SipHashScratch {
  const bytes = Buffer.alloc(MEMORY_BYTES - DATA_AT);
  return {
    wasm: false,
    bytes,
    lengthMax: bytes.length - 8,
    resume(prefix: SipHashPrefix, length: number): void {
      checkScratchLength(bytes, length);
      sipHash24Resume(prefix, bytes, 0, length, bytes, length);
    },
  };
}
