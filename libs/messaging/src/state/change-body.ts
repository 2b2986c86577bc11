// The body of a binary change record (state record kind `b`, data-file.md): a format version
// byte, then entries until the body ends, each an entry type byte and its bytes. Type 0 is one
// change as JSON (`[section, change]`, for the rare ones); types 1-255 belong to the sections
// that write their frequent changes in bytes of their own (consumer progress: deliveries, acks).
// Entries keep the order the changes were made in, whatever their type.
import { ByteReader, ByteWriter } from './byte-codec';

export const CHANGE_BODY_VERSION = 1;
export const ENTRY_JSON = 0;

/** One change as the JSON records hold it. */
export type Entry = [section: string, change: unknown];

/** A writer's buffer kept for the next body up to this size (larger ones, from rare large changes, are let go). */
const SPARE_BYTES_MAX = 256 * 1024;

/** Changes waiting for the next record: bodies of bounded size, the last one still growing. */
export class PendingBodies {
  private sealed: Buffer[] = [];
  private writer: ByteWriter | undefined;
  /** The writer of the last body taken: once released, its buffer (grown to a batch's size) serves the next body. */
  private taken: ByteWriter | undefined;
  private spare: ByteWriter | undefined;

  constructor(private readonly bodyBytesMax: number) {}

  get isEmpty(): boolean {
    return this.writer === undefined && this.sealed.length === 0;
  }

  /**
   * Starts an entry of `type` expected to take at most `bytesMax`: in a new body when the current
   * one would grow past the bound (an entry alone over it still goes out, alone). Finish with end().
   */
  begin(type: number, bytesMax: number): ByteWriter {
    let writer = this.writer;
    if (writer && writer.at > 1 && writer.at + bytesMax > this.bodyBytesMax) {
      this.sealed.push(writer.bytes);
      writer = undefined;
    }
    if (!writer) {
      // A released buffer, or 1 KiB from the shared pool: most records are small (one ack at low rates).
      writer = this.writer = this.spare ?? new ByteWriter();
      this.spare = undefined;
      writer.u8(CHANGE_BODY_VERSION);
    }
    writer.mark();
    writer.u8(type);
    return writer;
  }

  /** Ends the entry begun last; false, and the entry undone, when it held a value the bytes cannot carry. */
  end(): boolean {
    const writer = this.writer!;
    if (!writer.invalid) return true;
    writer.rollback();
    return false;
  }

  /** A change as JSON (entry type 0). */
  json(section: string, change: unknown): void {
    const text = JSON.stringify([section, change] satisfies Entry);
    this.begin(ENTRY_JSON, 16 + Buffer.byteLength(text)).string(text); // JSON text is well-formed: it cannot fail
    this.end();
  }

  /**
   * The bodies written so far, in order; pending is empty after. They are views of the writers'
   * buffers: valid until release().
   */
  take(): Buffer[] {
    const bodies = this.sealed;
    if (this.writer) bodies.push(this.writer.bytes);
    this.taken = this.writer;
    this.sealed = [];
    this.writer = undefined;
    return bodies;
  }

  /**
   * The bodies last taken were copied (the store encodes a record into its own buffer as it is
   * appended): the last one's buffer is reused for the next body instead of a new one grown by
   * doubling from 1 KiB per record.
   */
  release(): void {
    const taken = this.taken;
    this.taken = undefined;
    if (!taken || taken.capacity > SPARE_BYTES_MAX) return;
    taken.reset();
    this.spare = taken;
  }
}

/** What reading a body calls for each entry, in order. */
export interface ChangeVisitor {
  json(entry: Entry): void;
  /** An entry of a section's own type: read its bytes from `reader`, no more. */
  binary(type: number, reader: ByteReader): void;
}

/** Reads a binary change body; throws (with what is wrong) on anything it cannot read. */
export function readChangeBody(body: Buffer, visitor: ChangeVisitor): void {
  const reader = new ByteReader(body);
  const version = reader.u8();
  if (version !== CHANGE_BODY_VERSION) throw new Error(`its format version is ${version}, this broker reads ${CHANGE_BODY_VERSION} (written by a newer broker?)`);
  while (!reader.done) {
    const type = reader.u8();
    if (type !== ENTRY_JSON) {
      visitor.binary(type, reader);
      continue;
    }
    const entry = JSON.parse(reader.string()) as unknown;
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') throw new Error('a JSON change is not a [section, change] pair');
    visitor.json(entry as Entry);
  }
}
