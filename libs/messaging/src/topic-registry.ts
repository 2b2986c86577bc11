// The broker's topics: their queue counts, permissions and accepted message type, kept in the
// state journal (system records in the commit log), so replicas and restarts know them.
import { DLQ_TOPIC_PREFIX, isSystemTopic, nameProblem, RmqError, SYSTEM_TOPIC_PREFIX, TOPIC_COUNT_PER_BROKER_MAX, TOPIC_NAME_LENGTH_MAX } from '@rmq/base';
import { MESSAGING_LIMITS } from './limits';
import type { StateJournal, StateSection } from './state/state-journal';

export type TopicMessageType = 'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION';

/** RocketMQ's permission bits. */
export const PERM_READ = 4;
export const PERM_WRITE = 2;

export interface TopicConfig {
  name: string;
  queueCount: number;
  perm: number;
  messageType: TopicMessageType;
}

export interface CreateTopicOptions {
  queueCount?: number;
  perm?: number;
  messageType?: TopicMessageType;
}

type TopicChange = { op: 'put'; topic: TopicConfig };

export const TOPIC_SECTION = 'topics';

export class TopicRegistry implements StateSection<TopicChange> {
  readonly name = TOPIC_SECTION;
  private readonly topics = new Map<string, TopicConfig>();

  constructor(private readonly journal: StateJournal) {
    journal.register(this);
  }

  apply(change: TopicChange): void {
    this.topics.set(change.topic.name, change.topic);
  }

  dump(): TopicChange[] {
    return this.list().map((topic) => ({ op: 'put', topic }));
  }

  reset(): void {
    this.topics.clear();
  }

  get(name: string): TopicConfig | undefined {
    return this.topics.get(name);
  }

  /** The topic, or TOPIC_NOT_FOUND (ILLEGAL_TOPIC when the name itself is wrong). */
  require(name: string): TopicConfig {
    const problem = nameProblem(name, TOPIC_NAME_LENGTH_MAX);
    if (problem) throw new RmqError('ILLEGAL_TOPIC', { topic: JSON.stringify(name), reason: problem });
    const topic = this.topics.get(name);
    if (!topic) throw new RmqError('TOPIC_NOT_FOUND', { topic: name });
    return topic;
  }

  list(): TopicConfig[] {
    return [...this.topics.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Creates a topic; creating one that exists with the same settings is a no-op (`created` false). */
  async create(name: string, options: CreateTopicOptions = {}): Promise<{ topic: TopicConfig; created: boolean }> {
    const problem = nameProblem(name, TOPIC_NAME_LENGTH_MAX) ?? (isSystemTopic(name) ? `names starting with ${SYSTEM_TOPIC_PREFIX} are the broker's own` : undefined);
    if (problem) throw new RmqError('ILLEGAL_TOPIC', { topic: JSON.stringify(name), reason: problem });
    const queueCount = options.queueCount || MESSAGING_LIMITS.queueCountDefault;
    if (!Number.isInteger(queueCount) || queueCount < 1 || queueCount > MESSAGING_LIMITS.queueCountMax) {
      throw new RmqError('BAD_REQUEST', { reason: `queue count must be between 1 and ${MESSAGING_LIMITS.queueCountMax}, got ${queueCount}` });
    }
    const perm = options.perm || PERM_READ | PERM_WRITE;
    if ((perm & ~(PERM_READ | PERM_WRITE)) !== 0) {
      throw new RmqError('BAD_REQUEST', { reason: `permission must combine READ (4) and WRITE (2), got ${perm}` });
    }
    const topic: TopicConfig = { name, queueCount, perm, messageType: options.messageType ?? 'NORMAL' };
    // The broker moves dead letters into it as NORMAL messages: another type would refuse them forever.
    if (name.startsWith(DLQ_TOPIC_PREFIX) && topic.messageType !== 'NORMAL') {
      throw new RmqError('BAD_REQUEST', { reason: `${name} is a dead-letter topic; it can only be NORMAL (the broker writes dead letters to it)` });
    }
    const existing = this.topics.get(name);
    if (existing) {
      const same = existing.queueCount === topic.queueCount && existing.perm === topic.perm && existing.messageType === topic.messageType;
      if (!same) throw new RmqError('TOPIC_EXISTS', { topic: name, existing: describe(existing) });
      return { topic: existing, created: false };
    }
    if (this.topics.size >= TOPIC_COUNT_PER_BROKER_MAX) {
      throw new RmqError('TOO_MANY_REQUESTS', { reason: `this broker already has ${this.topics.size} topics, the most a name server takes from one broker` });
    }
    await this.put(topic);
    return { topic, created: true };
  }

  /**
   * Grows a topic's queue count and/or changes its permission. Queues are never removed: the
   * messages in them would be stranded.
   */
  async update(name: string, changes: { queueCount?: number; perm?: number }, options: { allowFifoGrowth?: boolean } = {}): Promise<TopicConfig> {
    const existing = this.require(name);
    const queueCount = changes.queueCount || existing.queueCount;
    if (!Number.isInteger(queueCount) || queueCount > MESSAGING_LIMITS.queueCountMax) {
      throw new RmqError('BAD_REQUEST', { reason: `queue count must be at most ${MESSAGING_LIMITS.queueCountMax}, got ${queueCount}` });
    }
    if (queueCount < existing.queueCount) {
      throw new RmqError('BAD_REQUEST', { reason: `topic ${name} has ${existing.queueCount} queues; a queue count can only grow (the messages in queues ${queueCount} to ${existing.queueCount - 1} would be stranded)` });
    }
    // Producers place a message group by hashing it over the queue count: more queues move groups
    // to other queues, where their next messages may be delivered before the earlier ones.
    if (existing.messageType === 'FIFO' && queueCount > existing.queueCount && !options.allowFifoGrowth) {
      throw new RmqError('BAD_REQUEST', { reason: `topic ${name} is FIFO: more queues would move message groups to other queues and break their order; the broker allows it with --allow-fifo-queue-growth (drain the topic first)` });
    }
    const perm = changes.perm ?? existing.perm;
    if ((perm & ~(PERM_READ | PERM_WRITE)) !== 0) {
      throw new RmqError('BAD_REQUEST', { reason: `permission must combine READ (4) and WRITE (2), got ${perm}` });
    }
    const topic: TopicConfig = { ...existing, queueCount, perm };
    await this.put(topic);
    return topic;
  }

  private async put(topic: TopicConfig): Promise<void> {
    this.journal.requireWritable(); // memory never holds a change the log does not
    this.topics.set(topic.name, topic);
    await this.journal.record(this.name, { op: 'put', topic } satisfies TopicChange);
  }
}

function describe(topic: TopicConfig): string {
  return `${topic.queueCount} queues, ${topic.messageType}, perm ${topic.perm}`;
}
