// The few encodings a WebAssembly module is written in (binary format, core spec 5.2 and 5.5),
// shared by the modules this library assembles from their instructions (md5-lanes-wasm.ts,
// siphash-wasm.ts), so no toolchain and no binary is needed.

/** An unsigned LEB128 integer (section sizes, counts, indices, memory offsets). */
export function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** A signed LEB128 integer (i32.const / i64.const immediates up to 32 bits). */
export function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) return (out.push(byte), out);
    out.push(byte | 0x80);
  }
}

/** A section: its id, then its body's size and the body. */
export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** A name (exports): its length, then its ASCII bytes. */
export function name(text: string): number[] {
  return [...uleb(text.length), ...Buffer.from(text, 'ascii')];
}

/** A function body's instructions, written by small helpers that name what they push. */
export class WasmCode {
  readonly bytes: number[] = [];
  op(...bytes: number[]): this {
    this.bytes.push(...bytes);
    return this;
  }
  get(local: number): this {
    return this.op(0x20, ...uleb(local)); // local.get
  }
  set(local: number): this {
    return this.op(0x21, ...uleb(local)); // local.set
  }
  tee(local: number): this {
    return this.op(0x22, ...uleb(local)); // local.tee
  }
  i32(value: number): this {
    return this.op(0x41, ...sleb(value | 0)); // i32.const
  }
}
