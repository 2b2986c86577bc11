// Consumer groups on the admin wire: settings both ways and a group's progress per queue.
import { admin, create } from '@rmq/contracts';
import { RmqError } from '@rmq/base';
import type { MessageStore } from '@rmq/store';
import { formatRetryPolicy, parseRetryPolicy, type ConsumerProgress, type GroupConfig, type GroupSettings } from '@rmq/messaging';

const CONSUME_TYPE_TO_WIRE = { clustering: admin.ConsumeType.CLUSTERING, broadcast: admin.ConsumeType.BROADCAST } as const;

export function groupToWire(group: GroupConfig): admin.GroupConfig {
  return create(admin.GroupConfigSchema, {
    name: group.name,
    maxAttempts: group.maxAttempts,
    retryPolicy: formatRetryPolicy(group.retry),
    fifo: group.fifo,
    consumeType: CONSUME_TYPE_TO_WIRE[group.consumeType],
    consumeEnabled: group.consumeEnabled,
  });
}

/** The settings a request names; unset fields stay undefined (kept, or the broker's default). */
export function groupSettingsFromWire(settings: admin.GroupSettings | undefined): Partial<GroupSettings> {
  if (!settings) return {};
  const consumeType =
    settings.consumeType === admin.ConsumeType.CLUSTERING ? 'clustering'
    : settings.consumeType === admin.ConsumeType.BROADCAST ? 'broadcast'
    : settings.consumeType === admin.ConsumeType.UNSPECIFIED ? undefined
    : badConsumeType(settings.consumeType);
  return {
    maxAttempts: settings.maxAttempts,
    retry: settings.retryPolicy === undefined ? undefined : parseRetryPolicy(settings.retryPolicy),
    fifo: settings.fifo,
    consumeType,
    consumeEnabled: settings.consumeEnabled,
  };
}

/** The group's progress in every queue of this broker it has read, with the lag of each. */
export function groupProgress(deps: { store: MessageStore; progress: ConsumerProgress }, group: string): admin.GroupQueueProgress[] {
  return [...deps.progress.allStates()]
    .filter(({ key }) => key.g === group)
    .map(({ key, state }) => {
      const maxOffset = deps.store.queueRange(key.t, key.q).maxQueueOffset;
      return create(admin.GroupQueueProgressSchema, {
        topic: key.t,
        queueId: key.q,
        committedOffset: BigInt(state.committedOffset),
        maxOffset: BigInt(maxOffset),
        inflight: state.inflightCount,
        lag: BigInt(Math.max(0, maxOffset - state.committedOffset)),
        member: key.m ?? '',
      });
    })
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.queueId - b.queueId || a.member.localeCompare(b.member));
}

function badConsumeType(value: number): never {
  throw new RmqError('BAD_REQUEST', { reason: `consume type ${value} is not clustering (1) or broadcast (2)` });
}
