// The WebAssembly module behind siphash.ts's scratch (sipHashScratch), assembled here from its
// instructions (no toolchain, no binary checked in, as md5-lanes-wasm.ts): SipHash-2-4 resumed from
// a prefix's state, on native 64-bit words. In JavaScript each 64-bit add and rotation is done on
// two 32-bit halves with carries and `>>> 0`s; here a SipRound is 14 instructions.
//
// Memory (two 64 KiB pages, never grown): the state v0..v3 (little-endian u64 each) at STATE_AT,
// the message at DATA_AT. Export `resume(length, before)`: hashes data[0, length) after `before`
// bytes already absorbed into the state (a multiple of 8), writes the 8-byte tag at
// DATA_AT + length, little-endian as the reference implementation does. The message's last 0-7
// bytes are read as one 8-byte load and masked: up to 7 bytes past the message are read, never used.

import { name, section, sleb, uleb, WasmCode } from './wasm-bytes';

export const STATE_AT = 0;
export const DATA_AT = 64;
const MEMORY_PAGES = 2;
export const MEMORY_BYTES = MEMORY_PAGES * 64 * 1024;

const OP = {
  block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, brIf: 0x0d,
  i64Load: 0x29, i64Store: 0x37, i64Const: 0x42, i32GeU: 0x4f, i32Add: 0x6a, i32And: 0x71, i32Shl: 0x74,
  i64And: 0x83, i64Or: 0x84, i64Xor: 0x85, i64Add: 0x7c, i64Sub: 0x7d, i64Shl: 0x86, i64Rotl: 0x89, i64ExtendI32U: 0xad,
} as const;
const I32 = 0x7f;
const I64 = 0x7e;

// Locals: params length (0), before (1); then i32 p (2), end (3); i64 v0..v3 (4-7), m (8).
const LENGTH = 0;
const BEFORE = 1;
const P = 2;
const END = 3;
const V0 = 4;
const V1 = 5;
const V2 = 6;
const V3 = 7;
const M = 8;

class Code extends WasmCode {
  i64(value: number): this {
    return this.op(OP.i64Const, ...sleb(value));
  }
  /** memarg: alignment exponent, then the static offset. */
  load64(offset: number): this {
    return this.op(OP.i64Load, 0, ...uleb(offset));
  }
  /** a = a + b */
  add(a: number, b: number): this {
    return this.get(a).get(b).op(OP.i64Add).set(a);
  }
  /** a = rotl(a, bits) ^ b */
  rotlXor(a: number, bits: number, b: number): this {
    return this.get(a).i64(bits).op(OP.i64Rotl).get(b).op(OP.i64Xor).set(a);
  }
  rotl(a: number, bits: number): this {
    return this.get(a).i64(bits).op(OP.i64Rotl).set(a);
  }
  xorInto(a: number, b: number): this {
    return this.get(a).get(b).op(OP.i64Xor).set(a);
  }
  sipRound(): this {
    this.add(V0, V1).rotlXor(V1, 13, V0).rotl(V0, 32);
    this.add(V2, V3).rotlXor(V3, 16, V2);
    this.add(V0, V3).rotlXor(V3, 21, V0);
    return this.add(V2, V1).rotlXor(V1, 17, V2).rotl(V2, 32);
  }
  /** Absorbs the word in M: v3 ^= m, two SipRounds, v0 ^= m. */
  absorb(): this {
    return this.xorInto(V3, M).sipRound().sipRound().xorInto(V0, M);
  }
}

function resumeFunction(): number[] {
  const f = new Code();
  [V0, V1, V2, V3].forEach((v, i) => f.i32(STATE_AT).load64(8 * i).set(v));
  // p = DATA_AT; end = DATA_AT + (length & ~7)
  f.i32(DATA_AT).set(P);
  f.i32(DATA_AT).get(LENGTH).i32(~7).op(OP.i32And).op(OP.i32Add).set(END);
  // Whole blocks.
  f.op(OP.block, 0x40, OP.loop, 0x40);
  f.get(P).get(END).op(OP.i32GeU).op(OP.brIf, 1);
  f.get(P).load64(0).set(M).absorb();
  f.get(P).i32(8).op(OP.i32Add).set(P);
  f.op(OP.br, 0, OP.end, OP.end);
  // Last block: the remaining 0-7 bytes (masked: (1 << 8 * (length & 7)) - 1), the total length's low byte on top.
  f.get(P).load64(0);
  f.i64(1).get(LENGTH).i32(7).op(OP.i32And).i32(3).op(OP.i32Shl).op(OP.i64ExtendI32U).op(OP.i64Shl).i64(1).op(OP.i64Sub);
  f.op(OP.i64And);
  f.get(LENGTH).get(BEFORE).op(OP.i32Add).op(OP.i64ExtendI32U).i64(56).op(OP.i64Shl).op(OP.i64Or).set(M);
  f.absorb();
  // Finalization: v2 ^= 0xff, four SipRounds, the tag v0 ^ v1 ^ v2 ^ v3 after the message.
  f.get(V2).i64(0xff).op(OP.i64Xor).set(V2);
  f.sipRound().sipRound().sipRound().sipRound();
  f.i32(DATA_AT).get(LENGTH).op(OP.i32Add);
  f.get(V0).get(V1).op(OP.i64Xor).get(V2).op(OP.i64Xor).get(V3).op(OP.i64Xor);
  f.op(OP.i64Store, 0, 0);
  const locals = [...uleb(2), ...uleb(2), I32, ...uleb(5), I64];
  const body = [...locals, ...f.bytes, OP.end];
  return [...uleb(body.length), ...body];
}

/** The module's bytes: `resume(length: i32, before: i32) -> ()` and its memory. */
export function sipHashModuleBytes(): Uint8Array {
  const module = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(1), 0x60, ...uleb(2), I32, I32, ...uleb(0)]), // type 0: (i32, i32) -> ()
    ...section(3, [...uleb(1), ...uleb(0)]), // function 0 has type 0
    ...section(5, [...uleb(1), 0x00, ...uleb(MEMORY_PAGES)]), // memory 0, MEMORY_PAGES pages
    ...section(7, [...uleb(2), ...name('resume'), 0x00, ...uleb(0), ...name('memory'), 0x02, ...uleb(0)]),
    ...section(10, [...uleb(1), ...resumeFunction()]),
  ];
  return Uint8Array.from(module);
}
