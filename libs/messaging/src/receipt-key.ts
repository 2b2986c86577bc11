// The key that signs receipt handles, kept in the state journal: made once by the first master of
// a replica group and copied with the log, so handles issued by one replica are accepted by
// another after a failover, and by the same broker after a restart.
import { randomBytes } from 'node:crypto';
import { RmqError } from '@rmq/base';
import type { StateJournal, StateSection } from './state/state-journal';

type KeyChange = { op: 'set'; key: string };

const KEY_BYTES = 32;
export const RECEIPT_KEY_SECTION = 'receiptKey';

export class ReceiptKey implements StateSection<KeyChange> {
  readonly name = RECEIPT_KEY_SECTION;
  private key: Buffer | undefined;

  constructor(private readonly journal: StateJournal) {
    journal.register(this);
  }

  /** The key; a broker that has none yet (a slave before its first copy) cannot sign or verify. */
  get value(): Buffer {
    if (!this.key) throw new RmqError('TOO_MANY_REQUESTS', { reason: 'this broker has not received its replica group\'s state yet; try again shortly' });
    return this.key;
  }

  /** Makes the key if the journal holds none (a new broker group; `legacy`: a key kept before in a file). */
  async ensure(legacy?: Buffer): Promise<void> {
    if (this.key) return;
    this.key = legacy?.length === KEY_BYTES ? legacy : randomBytes(KEY_BYTES);
    await this.journal.record(this.name, { op: 'set', key: this.key.toString('base64') } satisfies KeyChange);
  }

  apply(change: KeyChange): void {
    this.key = Buffer.from(change.key, 'base64');
  }

  dump(): KeyChange[] {
    return this.key ? [{ op: 'set', key: this.key.toString('base64') }] : [];
  }

  reset(): void {
    this.key = undefined;
  }
}
