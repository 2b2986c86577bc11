// The WebAssembly module behind md5-lanes.ts, assembled here from its instructions (no toolchain, no
// binary checked in): MD5 of four equally long inputs at once, one input per 32-bit lane of the
// 128-bit SIMD registers. MD5 is a chain of dependent steps, so one input keeps a core's adders
// waiting; four in lanes cost about what one does. Inputs are padded by the caller (MD5's padding,
// whole 64-byte blocks); the digests come out as upper-case hex ASCII.
//
// Memory (three 64 KiB pages): lane l's blocks at l * LANE_BYTES_MAX, lane l's 32-byte hex digest at
// DIGESTS_AT + 32 l. Exports `md5x4(blockCount)` (lanes 0-3) and `md5x8(blockCount)` (lanes 0-7).

import { name, section, uleb, WasmCode } from './wasm-bytes';

export const LANES_MAX = 8;
export const LANE_BYTES_MAX = 16 * 1024;
export const DIGESTS_AT = LANES_MAX * LANE_BYTES_MAX;
const MEMORY_PAGES = 3;

// Per step: the shift, the constant (floor(abs(sin(i + 1)) * 2^32)) and the message word.
const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);
const wordOf = (step: number): number => {
  const round = step >> 4;
  if (round === 0) return step;
  if (round === 1) return (5 * step + 1) % 16;
  if (round === 2) return (3 * step + 5) % 16;
  return (7 * step) % 16;
};

// Opcodes used (WebAssembly core 2.0 with fixed-width SIMD).
const OP = {
  block: 0x02, loop: 0x03, end: 0x0b, brIf: 0x0d,
  i32LtU: 0x49, i32Add: 0x6a, simd: 0xfd,
} as const;
const SIMD = {
  load: 0x00, store: 0x0b, const: 0x0c, shuffle: 0x0d, swizzle: 0x0e, i32x4Splat: 0x11, not: 0x4d, and: 0x4e, or: 0x50, xor: 0x51,
  bitselect: 0x52, load32Lane: 0x56, load32Zero: 0x5c, i8x16ShrU: 0x6d, i32x4Shl: 0xab, i32x4ShrU: 0xad, i32x4Add: 0xae,
} as const;
const I32 = 0x7f;
const V128 = 0x7b;

/** The instructions of md5x4, written by small helpers that name what they push. */
class Code extends WasmCode {
  simd(opcode: number, ...immediates: number[]): this {
    return this.op(OP.simd, ...uleb(opcode), ...immediates);
  }
  v128(bytes: number[]): this {
    return this.simd(SIMD.const, ...bytes);
  }
  splat32(value: number): this {
    const b = [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24];
    return this.v128([...b, ...b, ...b, ...b]);
  }
  /** memarg: alignment exponent, then the static offset. */
  memarg(align: number, offset: number): number[] {
    return [align, ...uleb(offset)];
  }
}

/** i8x16.shuffle's byte indexes that pick four 32-bit lanes: 0-3 from the first operand, 4-7 from the second. */
function lanes32(...picks: number[]): number[] {
  return picks.flatMap((pick) => [pick * 4, pick * 4 + 1, pick * 4 + 2, pick * 4 + 3]);
}

/**
 * The body of a function that hashes `groups` × 4 lanes (one param: the block count). Two groups'
 * steps interleaved keep more of a core's adders busy than one chain of dependent steps.
 */
function lanesFunction(groups: number): number[] {
  // Locals: param 0 = blockCount (i32); then i32 block, pos; then per group v128 a, b, c, d, aa, bb, cc, dd, t, m0..m15.
  const BLOCK_COUNT = 0;
  const BLOCK = 1;
  const POS = 2;
  const PER_GROUP = 9 + 16;
  const state = Array.from({ length: groups }, (_, g) => {
    const at = 3 + g * PER_GROUP;
    return { a: at, b: at + 1, c: at + 2, d: at + 3, aa: at + 4, bb: at + 5, cc: at + 6, dd: at + 7, t: at + 8, m: at + 9 };
  });
  const f = new Code();
  // State: the MD5 initial values in every lane.
  for (const { a, b, c, d } of state) f.splat32(0x67452301).set(a).splat32(0xefcdab89).set(b).splat32(0x98badcfe).set(c).splat32(0x10325476).set(d);
  f.i32(0).set(BLOCK).i32(0).set(POS);
  f.op(OP.block, 0x40, OP.loop, 0x40);
  // Word w of the block for lane l is at l * LANE_BYTES_MAX + pos + 4w: gathered into m_w, one lane at a time.
  state.forEach(({ m }, g) => {
    for (let w = 0; w < 16; w++) {
      f.get(POS).simd(SIMD.load32Zero, ...f.memarg(2, g * 4 * LANE_BYTES_MAX + 4 * w)).set(m + w);
      for (let lane = 1; lane < 4; lane++) f.get(POS).get(m + w).simd(SIMD.load32Lane, ...f.memarg(2, (g * 4 + lane) * LANE_BYTES_MAX + 4 * w), lane).set(m + w);
    }
  });
  for (const { a, b, c, d, aa, bb, cc, dd } of state) f.get(a).set(aa).get(b).set(bb).get(c).set(cc).get(d).set(dd);
  const roles = state.map(({ a, b, c, d }) => [a, b, c, d]); // per group, the step's a, b, c, d
  for (let step = 0; step < 64; step++) {
    const round = step >> 4;
    const shift = SHIFTS[(round << 2) | (step & 3)];
    state.forEach(({ m, t }, g) => {
      const [x, y, z, v] = roles[g];
      f.get(x);
      if (round === 0) f.get(z).get(v).get(y).simd(SIMD.bitselect); // (b & c) | (~b & d)
      else if (round === 1) f.get(y).get(z).get(v).simd(SIMD.bitselect); // (d & b) | (~d & c)
      else if (round === 2) f.get(y).get(z).simd(SIMD.xor).get(v).simd(SIMD.xor); // b ^ c ^ d
      else f.get(z).get(y).get(v).simd(SIMD.not).simd(SIMD.or).simd(SIMD.xor); // c ^ (b | ~d)
      f.simd(SIMD.i32x4Add).splat32(K[step]).simd(SIMD.i32x4Add).get(m + wordOf(step)).simd(SIMD.i32x4Add).tee(t);
      f.i32(shift).simd(SIMD.i32x4Shl).get(t).i32(32 - shift).simd(SIMD.i32x4ShrU).simd(SIMD.or);
      f.get(y).simd(SIMD.i32x4Add).set(x);
      roles[g] = [v, x, y, z];
    });
  }
  for (const { a, b, c, d, aa, bb, cc, dd } of state) {
    f.get(a).get(aa).simd(SIMD.i32x4Add).set(a).get(b).get(bb).simd(SIMD.i32x4Add).set(b);
    f.get(c).get(cc).simd(SIMD.i32x4Add).set(c).get(d).get(dd).simd(SIMD.i32x4Add).set(d);
  }
  f.get(POS).i32(64).op(OP.i32Add).set(POS);
  f.get(BLOCK).i32(1).op(OP.i32Add).tee(BLOCK).get(BLOCK_COUNT).op(OP.i32LtU).op(OP.brIf, 0);
  f.op(OP.end, OP.end);
  // Lane l's digest is a[l] b[l] c[l] d[l], little-endian: transpose, then each byte as two hex digits.
  const hexDigits = [...Buffer.from('0123456789ABCDEF', 'ascii')];
  const interleave = (from: number) => Array.from({ length: 16 }, (_, i) => (i & 1 ? 16 : 0) + from + (i >> 1));
  state.forEach(({ a, b, c, d, t, m }, g) => {
    const [AB01, AB23, CD01, CD23, HIGH, LOW] = [m, m + 1, m + 2, m + 3, m + 4, m + 5];
    f.get(a).get(b).simd(SIMD.shuffle, ...lanes32(0, 4, 1, 5)).set(AB01); // a0 b0 a1 b1
    f.get(a).get(b).simd(SIMD.shuffle, ...lanes32(2, 6, 3, 7)).set(AB23); // a2 b2 a3 b3
    f.get(c).get(d).simd(SIMD.shuffle, ...lanes32(0, 4, 1, 5)).set(CD01); // c0 d0 c1 d1
    f.get(c).get(d).simd(SIMD.shuffle, ...lanes32(2, 6, 3, 7)).set(CD23); // c2 d2 c3 d3
    for (let lane = 0; lane < 4; lane++) {
      const [ab, cd] = lane < 2 ? [AB01, CD01] : [AB23, CD23];
      const pair = (lane & 1) * 2; // the lane's a and b in ab (its c and d in cd) start at this 32-bit lane
      f.get(ab).get(cd).simd(SIMD.shuffle, ...lanes32(pair, pair + 1, 4 + pair, 5 + pair)).set(t); // a b c d of the lane
      // The high and the low nibbles, as indexes into the digits.
      f.v128(hexDigits).get(t).i32(4).simd(SIMD.i8x16ShrU).simd(SIMD.swizzle).set(HIGH);
      f.v128(hexDigits).get(t).v128(new Array(16).fill(0x0f)).simd(SIMD.and).simd(SIMD.swizzle).set(LOW);
      const at = DIGESTS_AT + (g * 4 + lane) * 32;
      f.i32(at).get(HIGH).get(LOW).simd(SIMD.shuffle, ...interleave(0)).simd(SIMD.store, ...f.memarg(0, 0));
      f.i32(at).get(HIGH).get(LOW).simd(SIMD.shuffle, ...interleave(8)).simd(SIMD.store, ...f.memarg(0, 16));
    }
  });
  const locals = [...uleb(2), ...uleb(2), I32, ...uleb(groups * PER_GROUP), V128];
  const body = [...locals, ...f.bytes, OP.end];
  return [...uleb(body.length), ...body];
}

/** The module's bytes: md5x4 (lanes 0-3) and md5x8 (lanes 0-7), both (blockCount) -> (). */
export function md5LanesModuleBytes(): Uint8Array {
  const module = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(1), 0x60, ...uleb(1), I32, ...uleb(0)]), // type 0: (i32) -> ()
    ...section(3, [...uleb(2), ...uleb(0), ...uleb(0)]), // functions 0 and 1 have type 0
    ...section(5, [...uleb(1), 0x00, ...uleb(MEMORY_PAGES)]), // memory 0, MEMORY_PAGES pages
    ...section(7, [...uleb(3), ...name('md5x4'), 0x00, ...uleb(0), ...name('md5x8'), 0x00, ...uleb(1), ...name('memory'), 0x02, ...uleb(0)]),
    ...section(10, [...uleb(2), ...lanesFunction(1), ...lanesFunction(2)]),
  ];
  return Uint8Array.from(module);
}
