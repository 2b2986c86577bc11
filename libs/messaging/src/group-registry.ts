// Consumer groups and their settings (RocketMQ's subscription group config): how many deliveries
// before the dead-letter topic, the retry policy, ordered consumption of FIFO topics, clustering
// or broadcast, and whether the group may consume at all. Kept in the state journal, so a
// restart or a replica taking over knows them. A group used before it was created gets the
// broker's defaults (the broker-wide flags) and, with auto-creation on, is created with them.
import { GROUP_NAME_LENGTH_MAX, nameProblem, RmqError } from '@rmq/base';
import { MESSAGING_LIMITS } from './limits';
import { RETRY_POLICY_DEFAULT, RETRY_SCHEDULE_LIMITS, type RetryPolicy } from './retry-policy';
import type { StateJournal, StateSection } from './state/state-journal';

export type ConsumeType = 'clustering' | 'broadcast';

export interface GroupConfig {
  name: string;
  /** Deliveries in total (first + retries) before the message goes to %DLQ%<group>. */
  maxAttempts: number;
  retry: RetryPolicy;
  /** Consume FIFO topics in message-group order (RocketMQ consumeOrderly). */
  fifo: boolean;
  consumeType: ConsumeType;
  /** False: receives are refused (RocketMQ consumeEnable), e.g. to stop a runaway group. */
  consumeEnabled: boolean;
}

export type GroupSettings = Omit<GroupConfig, 'name'>;

type GroupChange = { op: 'put'; group: GroupConfig } | { op: 'delete'; name: string };

export const GROUP_SECTION = 'groups';

export class GroupRegistry implements StateSection<GroupChange> {
  readonly name = GROUP_SECTION;
  private readonly groups = new Map<string, GroupConfig>();

  constructor(
    private readonly journal: StateJournal,
    /** Settings of a group nobody created (the broker-wide flags). */
    private readonly defaults: (name: string) => GroupSettings,
    private readonly autoCreate: boolean,
  ) {
    journal.register(this);
  }

  get(name: string): GroupConfig | undefined {
    return this.groups.get(name);
  }

  /** The group's settings: its own when created, the broker's defaults otherwise. */
  settingsOf(name: string): GroupConfig {
    return this.groups.get(name) ?? { name, ...this.defaults(name) };
  }

  list(): GroupConfig[] {
    return [...this.groups.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A group a client uses: created with the defaults when auto-creation is on, else it must exist. */
  async ensure(name: string): Promise<GroupConfig> {
    checkGroupName(name);
    const existing = this.groups.get(name);
    if (existing) return existing;
    if (!this.autoCreate) throw new RmqError('CONSUMER_GROUP_NOT_FOUND', { group: name });
    return this.put({ name, ...this.defaults(name) });
  }

  async create(name: string, settings: Partial<GroupSettings>): Promise<GroupConfig> {
    checkGroupName(name);
    if (this.groups.has(name)) throw new RmqError('CONSUMER_GROUP_EXISTS', { group: name });
    return this.put(checkSettings({ name, ...this.defaults(name), ...definedOnly(settings) }));
  }

  async update(name: string, settings: Partial<GroupSettings>): Promise<GroupConfig> {
    const existing = this.groups.get(name);
    if (!existing) throw new RmqError('CONSUMER_GROUP_NOT_FOUND', { group: name });
    return this.put(checkSettings({ ...existing, ...definedOnly(settings) }));
  }

  async delete(name: string): Promise<void> {
    if (!this.groups.has(name)) throw new RmqError('CONSUMER_GROUP_NOT_FOUND', { group: name });
    this.journal.requireWritable();
    this.groups.delete(name);
    await this.journal.record(this.name, { op: 'delete', name } satisfies GroupChange);
  }

  apply(change: GroupChange): void {
    if (change.op === 'put') this.groups.set(change.group.name, change.group);
    else this.groups.delete(change.name);
  }

  dump(): GroupChange[] {
    return this.list().map((group) => ({ op: 'put', group }));
  }

  reset(): void {
    this.groups.clear();
  }

  private async put(group: GroupConfig): Promise<GroupConfig> {
    this.journal.requireWritable(); // memory never holds a change the log does not
    this.groups.set(group.name, group);
    await this.journal.record(this.name, { op: 'put', group } satisfies GroupChange);
    return group;
  }
}

export function checkGroupName(name: string): void {
  const problem = nameProblem(name, GROUP_NAME_LENGTH_MAX);
  if (problem) throw new RmqError('ILLEGAL_CONSUMER_GROUP', { group: JSON.stringify(name), reason: problem });
}

function checkSettings(group: GroupConfig): GroupConfig {
  const bad = (reason: string) => new RmqError('BAD_REQUEST', { reason: `consumer group ${group.name}: ${reason}` });
  if (!Number.isInteger(group.maxAttempts) || group.maxAttempts < 1 || group.maxAttempts > MESSAGING_LIMITS.maxAttemptsMax) {
    throw bad(`max attempts must be from 1 to ${MESSAGING_LIMITS.maxAttemptsMax}, got ${group.maxAttempts}`);
  }
  if (group.consumeType !== 'clustering' && group.consumeType !== 'broadcast') throw bad(`consume type is clustering or broadcast, got ${String(group.consumeType)}`);
  const retry = group.retry ?? RETRY_POLICY_DEFAULT;
  if (retry.kind === 'customized' && (retry.delaysMs.length > RETRY_SCHEDULE_LIMITS.delaysCountMax || retry.delaysMs.some((ms) => !(ms >= 0 && ms <= RETRY_SCHEDULE_LIMITS.delayMsMax)))) {
    throw bad(`a customized retry policy has at most ${RETRY_SCHEDULE_LIMITS.delaysCountMax} delays of at most ${RETRY_SCHEDULE_LIMITS.delayMsMax} ms`);
  }
  if (retry.kind === 'exponential' && !(retry.initialMs >= 0 && retry.maxMs >= retry.initialMs && retry.maxMs <= RETRY_SCHEDULE_LIMITS.delayMsMax && retry.multiplier >= 1)) {
    throw bad('an exponential retry policy needs 0 <= initial <= max <= 1 day and a multiplier of at least 1');
  }
  return { ...group, retry, fifo: Boolean(group.fifo), consumeEnabled: group.consumeEnabled !== false };
}

function definedOnly<T extends object>(settings: T): Partial<T> {
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)) as Partial<T>;
}
