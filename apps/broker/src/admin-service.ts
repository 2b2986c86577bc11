// rmq.admin.v1.AdminService on the broker: topics, consumer groups and status, for the CLI and
// the metrics app.
import { admin, create, namesrv, topicMessageTypeFromWire, topicMessageTypeToWire, type UnaryImplementation } from '@rmq/contracts';
import { RmqError } from '@rmq/base';
import type { MessageStore } from '@rmq/store';
import type { BrokerPermission } from './broker-permission';
import type { RoleProvider } from './role-provider';
import type { RoleStatus } from './shipping/replica-role';
import { userAdmin } from './user-admin';
import type { AccessStore, ConsumerProgress, GroupRegistry, TopicConfig, TopicRegistry } from '@rmq/messaging';
import type { ModelServices } from './model-services';
import { groupProgress, groupSettingsFromWire, groupToWire } from './admin-groups';
import { findMessagesHandler } from './admin-messages';

export interface AdminDeps {
  topics: TopicRegistry;
  groups: GroupRegistry;
  progress: ConsumerProgress;
  store: MessageStore;
  identity: { clusterName: string; brokerName: string; brokerId: number };
  role: () => string;
  epoch: () => number;
  permission: BrokerPermission;
  roles: RoleProvider;
  /** Delay and transactional messages (running while this broker leads). */
  model: ModelServices;
  users: AccessStore;
  /** Lets UpdateTopic grow a FIFO topic (--allow-fifo-queue-growth). */
  allowFifoGrowth: boolean;
  /** Called after a topic or the broker permission changed, so name servers hear of it at once. */
  onRouteChanged: () => void;
  /** The replica group as this broker sees it (master: in-sync set and slaves; slave: its master). */
  replication?: () => RoleStatus;
}

function replicationStatusToWire(status: RoleStatus | undefined): { masterEndpoint?: string; following?: boolean; lagBytes?: bigint; inSyncReplicas?: number; slaves?: admin.SlaveStatus[] } {
  if (!status) return {};
  if (status.role === 'slave') return { masterEndpoint: status.masterEndpoint, following: status.connected, lagBytes: BigInt(status.lagBytes) };
  return {
    inSyncReplicas: status.inSyncReplicas,
    slaves: status.slaves.map((slave) => create(admin.SlaveStatusSchema, {
      replicaId: slave.replicaId, ackedOffset: BigInt(slave.ackedLogOffset), inSync: slave.inSync, lagBytes: BigInt(slave.lagBytes), lagMs: BigInt(slave.lagMs),
    })),
  };
}

export function topicToWire(topic: TopicConfig): namesrv.TopicConfig {
  return create(namesrv.TopicConfigSchema, {
    name: topic.name,
    readQueueCount: topic.queueCount,
    writeQueueCount: topic.queueCount,
    perm: topic.perm,
    messageType: topicMessageTypeToWire(topic.messageType),
  });
}

export function adminService(deps: AdminDeps): UnaryImplementation<typeof admin.AdminService.method> {
  return {
    ...userAdmin(deps.users),
    findMessages: findMessagesHandler(deps.store),
    createTopic: async (request) => {
      const messageType = topicMessageTypeFromWire(request.messageType);
      if (!messageType) throw new RmqError('BAD_REQUEST', { reason: `unknown message type ${request.messageType}` });
      const { topic, created } = await deps.topics.create(request.name, { queueCount: request.queueCount, perm: request.perm, messageType });
      if (created) deps.onRouteChanged();
      return create(admin.CreateTopicResponseSchema, { topic: topicToWire(topic), created });
    },
    getTopic: async (request) => {
      const topic = deps.topics.require(request.name);
      const queues = Array.from({ length: topic.queueCount }, (_, queueId) => {
        const range = deps.store.queueRange(topic.name, queueId);
        return { queueId, minOffset: BigInt(range.minQueueOffset), maxOffset: BigInt(range.maxQueueOffset) };
      });
      return create(admin.GetTopicResponseSchema, { topic: topicToWire(topic), queues });
    },
    updateTopic: async (request) => {
      const topic = await deps.topics.update(request.name, { queueCount: request.queueCount, perm: request.perm }, { allowFifoGrowth: deps.allowFifoGrowth });
      deps.onRouteChanged();
      return create(admin.UpdateTopicResponseSchema, { topic: topicToWire(topic) });
    },
    setBrokerPermission: async (request) => {
      await deps.permission.set(request.perm);
      deps.onRouteChanged();
      return create(admin.SetBrokerPermissionResponseSchema, { perm: deps.permission.value });
    },
    setBrokerRole: async (request) => {
      if (!deps.roles.assign) throw new RmqError('ROLE_SET_BY_CONTROLLER', {});
      if (request.role === namesrv.BrokerRole.UNSPECIFIED) throw new RmqError('BAD_REQUEST', { reason: 'role must be master or slave' });
      if (request.epoch < 0n || request.epoch > BigInt(Number.MAX_SAFE_INTEGER)) throw new RmqError('BAD_REQUEST', { reason: `epoch must be in 0..${Number.MAX_SAFE_INTEGER}, got ${request.epoch}` });
      const view = await deps.roles.assign(request.role === namesrv.BrokerRole.MASTER ? 'master' : 'slave', Number(request.epoch));
      return create(admin.SetBrokerRoleResponseSchema, {
        role: view.role === 'master' ? namesrv.BrokerRole.MASTER : namesrv.BrokerRole.SLAVE,
        epoch: BigInt(view.epoch),
        masterEndpoint: view.masterEndpoint ?? '',
      });
    },
    listTransactions: async (request) => {
      if (request.topic) deps.topics.require(request.topic);
      const transactions = deps.model.requireTransactions();
      const open = transactions.list(request.topic || undefined).sort((a, b) => a.bornMs - b.bornMs);
      return create(admin.ListTransactionsResponseSchema, {
        transactions: open.map((t) => ({ topic: t.topic, messageId: t.messageId, transactionId: t.transactionId, bornTimestampMs: BigInt(t.bornMs), checks: t.checks })),
        openCount: transactions.stats().open,
      });
    },
    createGroup: async (request) => create(admin.CreateGroupResponseSchema, { group: groupToWire(await deps.groups.create(request.name, groupSettingsFromWire(request.settings))) }),
    updateGroup: async (request) => create(admin.UpdateGroupResponseSchema, { group: groupToWire(await deps.groups.update(request.name, groupSettingsFromWire(request.settings))) }),
    getGroup: async (request) => {
      const exists = deps.groups.get(request.name) !== undefined;
      if (!exists && groupProgress(deps, request.name).length === 0) throw new RmqError('CONSUMER_GROUP_NOT_FOUND', { group: request.name });
      return create(admin.GetGroupResponseSchema, { group: groupToWire(deps.groups.settingsOf(request.name)), exists, queues: groupProgress(deps, request.name) });
    },
    listGroups: async () => create(admin.ListGroupsResponseSchema, { groups: deps.groups.list().map(groupToWire) }),
    deleteGroup: async (request) => {
      await deps.groups.delete(request.name);
      return create(admin.DeleteGroupResponseSchema, {});
    },
    listTopics: async () => create(admin.ListTopicsResponseSchema, { topics: deps.topics.list().map(topicToWire) }),
    getBrokerStatus: async () => {
      const stats = deps.store.stats();
      return create(admin.GetBrokerStatusResponseSchema, {
        broker: { clusterName: deps.identity.clusterName, brokerName: deps.identity.brokerName, brokerId: BigInt(deps.identity.brokerId) },
        role: deps.role(),
        epoch: BigInt(deps.epoch()),
        logEndOffset: BigInt(stats.logEndOffset),
        confirmedOffset: BigInt(stats.confirmedLogOffset),
        flushMode: stats.flushMode,
        topicCount: deps.topics.list().length,
        brokerPerm: deps.permission.value,
        durableOffset: BigInt(stats.durableLogOffset),
        committedOffset: BigInt(stats.committedLogOffset),
        ...replicationStatusToWire(deps.replication?.()),
      });
    },
  };
}
