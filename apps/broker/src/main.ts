// Broker: stores messages and serves apache.rocketmq.v2.MessagingService (what the official
// clients speak) and rmq.admin.v1.AdminService on one gRPC port.
import * as grpc from '@grpc/grpc-js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GROUP_NAME_LENGTH_MAX, nameProblem, systemClock } from '@rmq/base';
import { ConfigError, parseHostPort, readConfigOrExit } from '@rmq/config';
import { addService, admin, listen, namesrv, shutdownServer, unaryHandlers, v2 } from '@rmq/contracts';
import { ConsumerService, openBrokerState, parseRetryPolicy, ProducerService, stateBecomesMaster, type GroupSettings, type RetryPolicy } from '@rmq/messaging';
import { announceReady, createLogger, createRegistry, onShutdown, startHttpServer, type LogLevel } from '@rmq/observability';
import { endpointProblem, GroupMembership } from '@rmq/routing';
import { EpochFile, MessageStore } from '@rmq/store';
import { adminService, topicToWire } from './admin-service';
import { BrokerPermission } from './broker-permission';
import { brokerConfigSchema } from './broker-config';
import { createBrokerMetrics } from './broker-metrics';
import { logStoreEvent } from './store-events';
import { createStoreMetrics } from './store-metrics';
import { messagingService } from './messaging-service';
import { NameServerRegistrar } from './name-server-registrar';
import { RouteResolver } from './route-resolver';
import { FlagRoleProvider } from './flag-role-provider';
import { createForwardMetrics } from './forward-metrics';
import { withForwarding } from './forwarding-handlers';
import { MasterForwarder } from './master-forwarder';
import { LocalRoleExecutor, openControllerLink, type BrokerRoleState, type JournalRole } from './role-executor';
import type { RoleProvider } from './role-provider';

const GRPC_SHUTDOWN_GRACE_MS = 3_000;
/** Above the body limit plus the envelope, so an oversized body gets our clear status, not gRPC's. */
const GRPC_RECEIVE_BYTES_MAX = 32 * 1024 * 1024;

async function main(): Promise<void> {
  let retry: RetryPolicy | undefined;
  const broadcastGroups = new Set<string>();
  const config = readConfigOrExit(brokerConfigSchema, 'broker', {
    check: (options) => {
      try {
        retry = parseRetryPolicy(options.retryDelays);
      } catch (error) {
        throw new ConfigError(`--retry-delays: ${(error as Error).message}`);
      }
      for (const group of options.broadcastGroups.split(',').map((name) => name.trim()).filter(Boolean)) {
        const problem = nameProblem(group, GROUP_NAME_LENGTH_MAX);
        if (problem) throw new ConfigError(`--broadcast-groups: consumer group name ${JSON.stringify(group)} is not valid: ${problem}`);
        broadcastGroups.add(group);
      }
      if (options.masterAddress && endpointProblem(options.masterAddress)) throw new ConfigError(`--master-address: ${endpointProblem(options.masterAddress)}`);
    },
  });
  const log = createLogger({ app: 'broker', broker: config.brokerName }, { level: config.logLevel as LogLevel });
  const clock = systemClock;
  const nameServers = config.nameServers;
  await mkdir(join(config.dataDir, 'config'), { recursive: true });

  if (config.diskHardLimitPercent <= config.diskHighWaterPercent) {
    process.stderr.write(`broker: --disk-hard-limit-percent (${config.diskHardLimitPercent}) must be above --disk-high-water-percent (${config.diskHighWaterPercent})\n`);
    process.exit(2);
  }
  const metricsRegistry = createRegistry({ app: 'broker', cluster: config.clusterName, node_id: config.brokerName });
  const storeMetrics = createStoreMetrics(metricsRegistry);

  // Storage and domain.
  const store = await MessageStore.open({
    dataDir: join(config.dataDir, 'store'),
    flushMode: config.flushMode as 'sync' | 'async',
    flushIntervalMs: config.flushIntervalMs,
    segmentSizeBytes: config.segmentSizeMib * 1024 * 1024,
    acceptDataLoss: config.acceptDataLoss,
    retentionMs: config.retentionHours * 60 * 60 * 1000,
    diskUsageHighWaterRatio: config.diskHighWaterPercent / 100,
    diskUsageHardLimitRatio: config.diskHardLimitPercent / 100,
    clock,
    onEvent: (event) => {
      storeMetrics.onStoreEvent(event);
      logStoreEvent(log, event);
    },
  });
  storeMetrics.watch(store);
  log.info('store open', { flushMode: config.flushMode, ...(config.flushMode === 'async' ? { flushIntervalMs: config.flushIntervalMs } : {}), logEndOffset: store.stats().logEndOffset });
  // Everything besides messages (topics, groups, permission, consumer progress, the receipt key)
  // is replayed from the state records in the commit log.
  const groupDefaults = (name: string): GroupSettings => ({
    maxAttempts: config.deliveryAttemptsMax, retry: retry!, fifo: config.groupFifo, consumeType: broadcastGroups.has(name) ? 'broadcast' : 'clustering', consumeEnabled: true,
  });
  // With --controller the controller decides role and epoch, and the broker starts as a slave
  // until it does; without, the flags decide (a lone master).
  const roleState: BrokerRoleState = { role: config.controller.length > 0 ? 'slave' : (config.role as 'master' | 'slave'), epoch: config.controller.length > 0 ? 0 : config.epoch };
  let permission!: BrokerPermission;
  const state = await openBrokerState({
    store, dataDir: config.dataDir, clock, groupDefaults, autoCreateGroups: config.autoCreateGroups, snapshotEveryBytes: config.stateSnapshotMib * 1024 * 1024,
    writable: roleState.role === 'master',
    sections: (journal) => [(permission = new BrokerPermission(journal))],
    onError: (error) => log.error('could not record a broker state change', { error }),
    onEvent: (event) => log.info(event.kind === 'replayed' ? 'broker state replayed from the commit log' : 'broker state snapshot written to the commit log', { ...event }),
  });
  // A slave's permission comes with its master's state; the flag applies once it leads.
  if (roleState.role === 'master') await permission.applyFlag(config.permission);
  const { topics, groups, progress } = state;
  const metrics = createBrokerMetrics(metricsRegistry, { store, topics, progress });
  const producer = new ProducerService(store, topics);
  const consumer = new ConsumerService({ store, topics, groups, progress, clock, secret: () => state.receiptKey.value,
    onDeadLetter: (group, record) => {
      metrics.deadLettered(record.topic, group);
      log.info('message moved to the dead-letter topic', { group, topic: record.topic, queueId: record.queueId, queueOffset: record.queueOffset });
    },
    onSweepError: (error) => log.error('moving messages to dead-letter topics failed; retrying', { error }),
    onRetentionSkipped: (group, topic, queueId, count) => {
      metrics.retentionSkipped(topic, group, count);
      log.warn('retention deleted messages this consumer group had not consumed', { group, topic, queueId, count });
    },
  });
  // gRPC: MessagingService + AdminService.
  const grpcAddress = parseHostPort(config.listen, '--listen');
  const grpcServer = new grpc.Server({ 'grpc.max_receive_message_length': GRPC_RECEIVE_BYTES_MAX });
  const grpcPort = await listen(grpcServer, grpcAddress.host, grpcAddress.port);
  const endpoint = config.advertise || `${grpcAddress.host}:${grpcPort}`;

  // Role, epoch and master: from the controller (--controller), else from the flags, changed by
  // hand with SetBrokerRole; both run the same role actions on the broker (role-executor.ts).
  const journalRole: JournalRole = {
    toSlave: () => state.journal.becomeSlave(),
    toMaster: async () => {
      await stateBecomesMaster(state);
      await permission.applyFlag(config.permission);
    },
  };
  const controllerLink = config.controller.length === 0 ? undefined : await openControllerLink({
    controllers: config.controller, storeDir: join(config.dataDir, 'store'), store, state: roleState, log,
    identity: { clusterName: config.clusterName, brokerName: config.brokerName, brokerId: config.brokerId, endpoint },
    registerNow: () => registrar.registerNow(),
    journalRole,
    onFatal: (error) => {
      log.error('stopping: a role change could not be carried out; a restart comes back as a slave', { error: error.message });
      process.exit(1);
    },
  });
  const roles: RoleProvider = controllerLink
    ? { current: () => controllerLink.current(), onChange: (listener) => controllerLink.onChange(listener), masterUnreachable: () => controllerLink.masterUnreachable(), close: () => undefined }
    : new FlagRoleProvider({
        role: roleState.role, epoch: roleState.epoch, endpoint, masterAddress: config.masterAddress,
        clusterName: config.clusterName, brokerName: config.brokerName, brokerId: config.brokerId, nameServers, log,
        executor: new LocalRoleExecutor({ store, epochs: await EpochFile.open(join(config.dataDir, 'store', 'epochs.json')), state: roleState, registerNow: () => registrar.registerNow(), journalRole }),
      });
  // What registrations, routes, forwarding and status report; a slave's epoch is its master's.
  const role = () => roles.current().role;
  const epoch = () => roles.current().epoch;
  const registrar = new NameServerRegistrar({
    nameServers,
    log,
    intervalMs: config.registerIntervalMs,
    registration: () => ({
      broker: { clusterName: config.clusterName, brokerName: config.brokerName, brokerId: BigInt(config.brokerId) },
      endpoint,
      zone: config.zone,
      brokerPerm: permission.value,
      topics: topics.list().map(topicToWire),
      role: role() === 'master' ? namesrv.BrokerRole.MASTER : namesrv.BrokerRole.SLAVE,
      epoch: BigInt(epoch()),
    }),
  });
  roles.onChange((view) => {
    log.info('role changed', { ...view });
    void registrar.registerNow();
  });
  const routes = new RouteResolver(nameServers, {
    clusterName: config.clusterName, brokerName: config.brokerName, brokerId: config.brokerId, endpoint, zone: config.zone, perm: () => permission.value, role, epoch,
  }, log);
  const autoCreateTopic = config.autoCreateTopics
    ? async (name: string) => {
        const { created } = await topics.create(name, { queueCount: config.defaultQueueCount });
        if (created) {
          log.info('topic auto-created', { topic: name });
          void registrar.registerNow();
        }
      }
    : undefined;
  const forwardMetrics = createForwardMetrics(metricsRegistry);
  const forwarder = new MasterForwarder({ roles, selfEndpoint: endpoint, brokerName: config.brokerName, holdMs: config.forwardHoldMs, log, onForward: forwardMetrics.forwarded });
  addService(grpcServer, v2.MessagingService, withForwarding(messagingService({
    topics, producer, consumer, routes, log, metrics, endpoint, brokerName: config.brokerName,
    isMaster: () => role() === 'master', epoch, autoCreateTopic, groups,
    membership: new GroupMembership(), clock, pushLongPollingMs: config.pushLongPollingMs, pushInvisibleMs: config.pushInvisibleMs, permission,
  }), { roles, forwarder, brokerName: config.brokerName, onRefused: forwardMetrics.refused }));
  addService(grpcServer, admin.AdminService, unaryHandlers(adminService({
    topics, groups, progress, store, role, epoch, roles,
    identity: { clusterName: config.clusterName, brokerName: config.brokerName, brokerId: config.brokerId },
    permission,
    onRouteChanged: () => void registrar.registerNow(),
  }), (message, fields) => log.error(message, fields)));

  // Cluster membership and the HTTP side.
  await registrar.start();
  controllerLink?.start();
  const httpAddress = parseHostPort(config.httpListen, '--http-listen');
  const http = await startHttpServer({ host: httpAddress.host, port: httpAddress.port, registry: metricsRegistry, health: () => [] });

  onShutdown(log, async () => {
    await controllerLink?.stop();
    await registrar.stop();
    await shutdownServer(grpcServer, GRPC_SHUTDOWN_GRACE_MS);
    consumer.close();
    routes.close();
    forwarder.close();
    roles.close();
    await state.journal.close();
    await store.close();
    await http.close();
  });
  announceReady(log, { grpc: endpoint, http: `${httpAddress.host}:${http.port}` });
}

main().catch((error: unknown) => {
  process.stderr.write(`broker failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
