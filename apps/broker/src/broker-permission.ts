// The broker-wide permission (RocketMQ's brokerPermission): READ and/or WRITE. A broker that
// does not allow WRITE refuses sends and is routed as read-only (drain it before maintenance);
// one that does not allow READ refuses receives. Set with --permission at start or at runtime
// with AdminService.SetBrokerPermission, and kept in the state journal, so a restart (or a
// replica taking over) keeps the last setting unless the flag names one.
import { RmqError } from '@rmq/base';
import { PERM_READ, PERM_WRITE, type StateJournal, type StateSection } from '@rmq/messaging';

export const PERMISSION_NAMES: Record<string, number> = { 'read-write': PERM_READ | PERM_WRITE, read: PERM_READ, write: PERM_WRITE };

export function permissionName(perm: number): string {
  return Object.entries(PERMISSION_NAMES).find(([, value]) => value === perm)?.[0] ?? `bits ${perm}`;
}

type PermissionChange = { op: 'set'; perm: number };

export class BrokerPermission implements StateSection<PermissionChange> {
  readonly name = 'brokerPermission';
  private perm = PERM_READ | PERM_WRITE;

  constructor(private readonly journal: StateJournal) {}

  /** After the journal is open: `flag` is '' (keep the saved permission) or a PERMISSION_NAMES key. */
  async applyFlag(flag: string): Promise<void> {
    if (flag && PERMISSION_NAMES[flag] !== this.perm) await this.set(PERMISSION_NAMES[flag]);
  }

  apply(change: PermissionChange): void {
    this.perm = change.perm;
  }

  dump(): PermissionChange[] {
    return [{ op: 'set', perm: this.perm }];
  }

  reset(): void {
    this.perm = PERM_READ | PERM_WRITE;
  }

  get value(): number {
    return this.perm;
  }

  async set(perm: number): Promise<void> {
    if ((perm & (PERM_READ | PERM_WRITE)) === 0 || (perm & ~(PERM_READ | PERM_WRITE)) !== 0) {
      throw new RmqError('BAD_REQUEST', { reason: `a broker permission is READ (4), WRITE (2) or both (6), got ${perm}` });
    }
    this.perm = perm;
    await this.journal.record(this.name, { op: 'set', perm } satisfies PermissionChange);
  }

  requireWrite(brokerName: string): void {
    if ((this.perm & PERM_WRITE) === 0) throw new RmqError('BROKER_PERMISSION', { brokerName, action: 'accept messages', perm: permissionName(this.perm), hint: 'send to another broker of the topic' });
  }

  requireRead(brokerName: string): void {
    if ((this.perm & PERM_READ) === 0) throw new RmqError('BROKER_PERMISSION', { brokerName, action: 'deliver messages', perm: permissionName(this.perm), hint: 'receive from another broker of the topic' });
  }
}
