// The broker-wide permission (RocketMQ's brokerPermission): READ and/or WRITE. A broker that
// does not allow WRITE refuses sends and is routed as read-only (drain it before maintenance);
// one that does not allow READ refuses receives. Set with --permission at start or at runtime
// with AdminService.SetBrokerPermission, and kept in config/broker-permission.json, so a restart
// keeps the last setting unless the flag names one.
import { join } from 'node:path';
import { RmqError } from '@rmq/base';
import { PERM_READ, PERM_WRITE } from '@rmq/messaging';
import { readJson, writeJsonAtomic } from '@rmq/store';

export const PERMISSION_NAMES: Record<string, number> = { 'read-write': PERM_READ | PERM_WRITE, read: PERM_READ, write: PERM_WRITE };

export function permissionName(perm: number): string {
  return Object.entries(PERMISSION_NAMES).find(([, value]) => value === perm)?.[0] ?? `bits ${perm}`;
}

export class BrokerPermission {
  private constructor(
    private readonly path: string,
    private perm: number,
  ) {}

  /** `flag` is '' (keep the saved permission, read-write if none) or a PERMISSION_NAMES key. */
  static async open(dataDir: string, flag: string): Promise<BrokerPermission> {
    const path = join(dataDir, 'config', 'broker-permission.json');
    const saved = await readJson<{ perm: number }>(path);
    const permission = new BrokerPermission(path, saved?.perm ?? PERM_READ | PERM_WRITE);
    if (flag) await permission.set(PERMISSION_NAMES[flag]);
    return permission;
  }

  get value(): number {
    return this.perm;
  }

  async set(perm: number): Promise<void> {
    if ((perm & (PERM_READ | PERM_WRITE)) === 0 || (perm & ~(PERM_READ | PERM_WRITE)) !== 0) {
      throw new RmqError('BAD_REQUEST', { reason: `a broker permission is READ (4), WRITE (2) or both (6), got ${perm}` });
    }
    await writeJsonAtomic(this.path, { perm });
    this.perm = perm;
  }

  requireWrite(brokerName: string): void {
    if ((this.perm & PERM_WRITE) === 0) throw new RmqError('BROKER_PERMISSION', { brokerName, action: 'accept messages', perm: permissionName(this.perm), hint: 'send to another broker of the topic' });
  }

  requireRead(brokerName: string): void {
    if ((this.perm & PERM_READ) === 0) throw new RmqError('BROKER_PERMISSION', { brokerName, action: 'deliver messages', perm: permissionName(this.perm), hint: 'receive from another broker of the topic' });
  }
}
