// Broker: stores messages and serves apache.rocketmq.v2.MessagingService (what the official
// clients speak), rmq.admin.v1.AdminService and rmq.replication.v1.ReplicationService on one gRPC port.
import { tracing } from './tracing'; // first: see tracing.ts
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CLUSTER_ACCESS_KEY, GROUP_NAME_LENGTH_MAX, isRmqError, nameProblem, systemClock } from '@rmq/base';
import { ConfigError, parseHostPort, readConfigOrExit, readSecretFile, readTlsFiles, type TlsFiles } from '@rmq/config';
import {
  addService, admin, messagingFastMethods, serveFastPath, serveBidiFastPath, channelCredentials, clusterSecretGuard, createGrpcServer, guardHandlers, listen, namesrv, peerLink, replication, RequestBudget, requestBudgetInterceptor, serverCredentials,
  shutdownServer, unaryHandlers, v2, widenReceiveWindows, GRPC_SERVER_LIMITS, type CallGuard,
} from '@rmq/contracts';
import {
  ConsumerService, fromStoredRecord, JournalAccessStore, SYSTEM_PROPERTY, openBrokerState, parseRetryPolicy, ProducerService, PullOffsets, PullService, stateBecomesMaster,
  TimerService, TransactionService, type GroupSettings, type RetryPolicy,
} from '@rmq/messaging';
import { announceReady, createLogger, createRegistry, onShutdown, startHttpServer, type LogLevel } from '@rmq/observability';
import { GroupMembership } from '@rmq/routing';
import { EpochFile, MessageStore } from '@rmq/store';
import { accessGuard } from './access-guard';
import { adminService, topicToWire } from './admin-service';
import { BrokerPermission } from './broker-permission';
import { brokerConfigSchema } from './broker-config';
import { createBrokerMetrics } from './broker-metrics';
import { createModelMetrics } from './model-metrics';
import { ModelServices } from './model-services';
import { copiedTailReadable } from './copied-tail';
import { toWireMessage } from './message-codec';
import { ProducerStreams } from './producer-streams';

import { PeerHealth } from './peer-health';
import { logStoreEvent, storeHealth } from './store-events';
import { createStoreMetrics } from './store-metrics';
import { createClientMetrics } from './client-metrics';
import { createMessageTracing, NO_MESSAGE_TRACING, type MessageTracing } from './message-tracing';
import { messagingService } from './messaging-service';
import { NameServerRegistrar } from './name-server-registrar';
import { RouteResolver } from './route-resolver';
import { FlagRoleProvider } from './flag-role-provider';
import { createForwardMetrics } from './forward-metrics';
import { withForwarding } from './forwarding-handlers';
import { MasterForwarder } from './master-forwarder';
import { LocalRoleExecutor, openControllerLink, type BrokerRoleState, type JournalRole } from './role-executor';
import type { RoleProvider } from './role-provider';
import { ReplicaRole } from './shipping/replica-role';
import { replicationService } from './shipping/replication-service';
import { followFastMethod } from './shipping/follow-fast-path';
import { createReplicationMetrics } from './shipping/replication-metrics';

const GRPC_SHUTDOWN_GRACE_MS = 3_000;
/** How long a new master waits for the log tail it copied to become readable before it rebuilds its state. */
const COPIED_TAIL_WAIT_MS = 10_000;
/** Above the body limit plus the envelope, so an oversized body gets our clear status, not gRPC's. */
const GRPC_RECEIVE_BYTES_MAX = 32 * 1024 * 1024;

async function main(): Promise<void> {
  let retry: RetryPolicy | undefined;
  let adminSecret = '';
  let clusterSecret = '';
  let tls: TlsFiles = {};
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
      if (options.role === 'slave' && !options.master && options.controller.length === 0 && options.nameServers.length === 0) {
        throw new ConfigError('--role slave needs --master <host:port> (the master to follow), --controller, or --name-servers (to find the master the name servers route)');
      }
      if (options.master) parseHostPort(options.master, '--master');
      tls = readTlsFiles(options);
      if (options.clusterSecretFile) clusterSecret = readSecretFile(options.clusterSecretFile, '--cluster-secret-file');
      if (options.auth) {
        if (!options.authAdminSecretFile) throw new ConfigError('--auth needs --auth-admin-secret-file: the admin\'s secret, in a file of mode 0600');
        adminSecret = readSecretFile(options.authAdminSecretFile, '--auth-admin-secret-file');
      }
    },
  });
  const log = createLogger({ app: 'broker', broker: config.brokerName }, { level: config.logLevel as LogLevel });
  const clock = systemClock;
  const nameServers = config.nameServers;
  await mkdir(join(config.dataDir, 'config'), { recursive: true });

  if (config.timerDelayMaxMs > config.retentionHours * 60 * 60 * 1000) {
    process.stderr.write(`broker: --timer-delay-max-ms (${config.timerDelayMaxMs}) must not exceed --retention-hours (${config.retentionHours} h): a scheduled message must outlive its delay\n`);
    process.exit(2);
  }
  if (config.diskHardLimitPercent <= config.diskHighWaterPercent) {
    process.stderr.write(`broker: --disk-hard-limit-percent (${config.diskHardLimitPercent}) must be above --disk-high-water-percent (${config.diskHighWaterPercent})\n`);
    process.exit(2);
  }
  const metricsRegistry = createRegistry({ cluster: config.clusterName, node_type: 'broker', node_id: `${config.brokerName}-${config.brokerId}` });
  const storeMetrics = createStoreMetrics(metricsRegistry);
  let messageTracing: MessageTracing = NO_MESSAGE_TRACING;

  // Storage and domain.
  const store = await MessageStore.open({
    dataDir: join(config.dataDir, 'store'),
    // Message ids and keys are indexed: AdminService.FindMessages (rmq message show / find).
    indexedProperties: { messageId: SYSTEM_PROPERTY.messageId, keys: SYSTEM_PROPERTY.keys },
    flushMode: config.flushMode as 'sync' | 'async',
    flushIntervalMs: config.flushIntervalMs,
    segmentSizeBytes: config.segmentSizeMib * 1024 * 1024,
    acceptDataLoss: config.acceptDataLoss,
    retentionMs: config.retentionHours * 60 * 60 * 1000,
    diskUsageHighWaterRatio: config.diskHighWaterPercent / 100,
    diskUsageHardLimitRatio: config.diskHardLimitPercent / 100,
    clock,
    // Anything but a lone master exposes only what its group committed, also after a restart.
    commitPolicy: config.role === 'master' && config.controller.length === 0 ? 'local' : 'replicated',
    onEvent: (event) => {
      storeMetrics.onStoreEvent(event);
      messageTracing.onStoreEvent(event);
      logStoreEvent(log, event);
    },
  });
  storeMetrics.watch(store);
  if (tracing.enabled) messageTracing = createMessageTracing(tracing.tracer, store, { syncFlush: config.flushMode === 'sync', brokerName: config.brokerName });
  log.info('store open', { flushMode: config.flushMode, ...(config.flushMode === 'async' ? { flushIntervalMs: config.flushIntervalMs } : {}), logEndOffset: store.stats().logEndOffset });
  // Everything besides messages (topics, groups, permission, consumer progress, the receipt key)
  // is replayed from the state records in the commit log.
  const groupDefaults = (name: string): GroupSettings => ({
    maxAttempts: config.deliveryAttemptsMax, retry: retry!, fifo: config.groupFifo, consumeType: broadcastGroups.has(name) ? 'broadcast' : 'clustering', consumeEnabled: true,
  });
  // With --controller the controller decides role and epoch, and the broker starts as a slave
  // until it does; without, the flags decide (a lone master).
  const roleState: BrokerRoleState = { role: config.controller.length > 0 ? 'slave' : (config.role as 'master' | 'slave'), epoch: 0 };
  const role = () => roleState.role;
  const epoch = () => roleState.epoch;
  // Log shipping (shipping/), set before anything writes: a master records its epoch before its
  // first write; a slave refuses local writes, and follows --master once its port is known.
  let endpoint = '';
  // Calls to the master and the controllers: TLS with --tls-ca-file, signed with the cluster secret.
  const peer = peerLink(tls.client, clusterSecret || undefined, clock);
  const replica = await ReplicaRole.open({
    peer, plainFollow: !tls.client && !clusterSecret && !tracing.enabled,
    store, storeDir: join(config.dataDir, 'store'), brokerName: config.brokerName, replicaId: String(config.brokerId), endpoint: () => endpoint,
    flushMode: config.flushMode as 'sync' | 'async', minInSyncReplicas: config.minInSyncReplicas, clock, log,
    bounds: { lagMsMax: config.inSyncLagMs, lagBytesMax: config.inSyncLagMib * 1024 * 1024 },
  });
  if (roleState.role === 'master') {
    await replica.becomeMaster(config.epoch);
    roleState.epoch = config.epoch;
  } else replica.prepareSlave();
  createReplicationMetrics(metricsRegistry, () => replica);
  let permission!: BrokerPermission;
  let users!: JournalAccessStore; // users and grants (authentication), replicated with the state
  let pullOffsets!: PullOffsets;
  const state = await openBrokerState({
    store, dataDir: config.dataDir, clock, groupDefaults, autoCreateGroups: config.autoCreateGroups, snapshotEveryBytes: config.stateSnapshotMib * 1024 * 1024,
    writable: roleState.role === 'master',
    sections: (journal) => [(permission = new BrokerPermission(journal)), (users = new JournalAccessStore(journal)), (pullOffsets = new PullOffsets(journal))],
    onError: (error) => log.error('could not record a broker state change', { error }),
    onEvent: (event) => log.info(event.kind === 'replayed' ? 'broker state replayed from the commit log' : 'broker state snapshot written to the commit log', { ...event }),
  });
  replica.onLogCut = () => state.journal.reload(); // a slave's log cut back: state rebuilt from what stays
  // A slave's permission comes with its master's state; the flag applies once it leads.
  if (roleState.role === 'master') await permission.applyFlag(config.permission);
  const { topics, groups, progress } = state;
  // Request bytes read and not yet answered, over every call of the gRPC port.
  const requestBudget = new RequestBudget({ bytesMax: config.requestsInFlightMaxMib * 1024 * 1024, setting: '--requests-in-flight-max-mib' });
  const metrics = createBrokerMetrics(metricsRegistry, { store, topics, groups, progress, permission: () => permission.value, brokerName: config.brokerName, role, epoch,
    receivesRunning: () => consumer.receivesRunning, requests: requestBudget });
  // Delay and transactional messages: their state is rebuilt from the log whenever this broker leads.
  const producerStreams = new ProducerStreams();
  const endpointRef = { value: config.listen };
  const model = new ModelServices(async () => {
    const timers = await TimerService.open({
      store, clock, brokerName: config.brokerName, delayMsMax: config.timerDelayMaxMs, dir: join(config.dataDir, 'timer'),
      queueCountOf: (topic) => topics.get(topic)?.queueCount,
      onError: (error) => log.error('delay messages: store or file operation failed; retrying', { error }),
      onDelivered: (topic, latenessMs) => modelMetrics.timerDelivered(topic, latenessMs),
      onDropped: (topic, messageId) => {
        modelMetrics.timerDropped(topic);
        log.warn('delay message dropped: its topic no longer exists or the log no longer holds it', { topic, messageId });
      },
    });
    const transactions = await TransactionService.open({
      store, clock, queueCountOf: (topic) => topics.get(topic)?.queueCount,
      policy: { firstMs: config.transactionCheckAfterMs, checksMax: config.transactionChecksMax, intervalMaxMs: config.transactionCheckIntervalMaxMs },
      checkBack: (message, transactionId) => {
        const wire = toWireMessage(message, { receiptHandle: '', deliveryAttempt: 1, invisibleMs: 0, storeHost: endpointRef.value }, '');
        const asked = producerStreams.recoverOrphaned(message.topic, wire, transactionId);
        if (!asked) log.warn('open transaction not checked: no producer of its topic is connected', { topic: message.topic, messageId: message.messageId });
        return asked;
      },
      onError: (error) => log.error('transactional messages: an operation failed', { error }),
      onEvent: (topic, event) => modelMetrics.transactionEvent(topic, event),
    });
    log.info('delay and transactional messages recovered from the log', { timers: timers.stats(), transactions: transactions.stats() });
    return { timers, transactions };
  }, config.brokerName, epoch);
  const modelMetrics = createModelMetrics(metricsRegistry, { timers: () => model.timers, transactions: () => model.transactions });
  if (roleState.role === 'master') await model.start();
  const producer = new ProducerService(store, topics, undefined, model.stagers());
  const pulls = new PullService(store, topics, pullOffsets, clock);
  const consumer = new ConsumerService({ store, topics, groups, progress, clock, secret: () => state.receiptKey.value,
    simpleInvisibleMsMin: config.invisibleMsMin,
    receiveSlots: { perClientMax: config.receivesPerClientMax, perGroupMax: config.receivesPerGroupMax },
    onDeadLetter: (group, record) => {
      metrics.deadLettered(record.topic, group);
      if (messageTracing.enabled) {
        const message = fromStoredRecord(record);
        messageTracing.deadLettered(record.topic, group, message.messageId, message.traceContext);
      }
      log.info('message moved to the dead-letter topic', { group, topic: record.topic, queueId: record.queueId, queueOffset: record.queueOffset });
    },
    onSweepError: (error) => {
      if (!isRmqError(error, 'NOT_MASTER')) log.error('moving messages to dead-letter topics failed; retrying', { error });
    },
    onRetentionSkipped: (group, topic, queueId, count) => {
      metrics.retentionSkipped(topic, group, count);
      log.warn('retention deleted messages this consumer group had not consumed', { group, topic, queueId, count });
    },
  });
  // gRPC: MessagingService + AdminService + ReplicationService.
  const grpcAddress = parseHostPort(config.listen, '--listen');
  const grpcServer = createGrpcServer({
    receiveMessageBytesMax: GRPC_RECEIVE_BYTES_MAX, concurrentStreamsPerConnectionMax: config.grpcStreamsPerConnectionMax,
    interceptors: [requestBudgetInterceptor(requestBudget, {
      services: [v2.MessagingService, admin.AdminService, replication.ReplicationService],
      alwaysBudgeted: ['/apache.rocketmq.v2.MessagingService/SendMessage'],
    })],
  });
  const grpcPort = await listen(grpcServer, grpcAddress.host, grpcAddress.port, serverCredentials(tls.server));
  // Sends of a few hundred KB arrive without waiting for window updates (a measurable share of a send's CPU, wave 9).
  widenReceiveWindows(grpcServer, GRPC_SERVER_LIMITS.receiveWindowBytes);
  const peerCredentials = () => channelCredentials(tls.client);
  endpoint = config.advertise || `${grpcAddress.host}:${grpcPort}`;
  if (roleState.role === 'slave' && config.controller.length === 0 && config.master) await replica.becomeSlave(config.master);
  // With a cluster secret only brokers holding it may follow this one's log (or learn its epochs).
  const audit = log.child({ component: 'audit' });
  const replicationGuard: CallGuard | undefined = clusterSecret
    ? clusterSecretGuard({ clusterSecret, clock, clockSkewMsMax: config.authClockSkewMs,
        onRefused: (call, problem, reason) => audit.warn('access refused', { method: call.method, code: 'UNAUTHORIZED', problem, peer: call.peer, reason }) })
    : undefined;
  if (!clusterSecret && config.auth) log.warn('--auth without --cluster-secret-file: anyone who reaches this port may follow this broker\'s log (ReplicationService)');
  const replicationHandlers = guardHandlers(replication.ReplicationService, replicationService({
    brokerName: config.brokerName, store, master: () => replica.master(), epoch, log, clusterSecret: clusterSecret || undefined,
    onReplicaCopied: messageTracing.enabled ? (replicaId, startedAtMs, durationMs, sizeBytes) => messageTracing.replicaCopied(replicaId, startedAtMs, durationMs, sizeBytes) : undefined,
  }), replicationGuard, (message, fields) => log.error(message, fields));
  addService(grpcServer, replication.ReplicationService, replicationHandlers);
  endpointRef.value = endpoint;

  // Role, epoch and master: from the controller (--controller), else from the flags, changed by
  // hand with SetBrokerRole; both run the same role actions on the broker (role-executor.ts).
  const journalRole: JournalRole = {
    toSlave: () => {
      state.journal.becomeSlave();
      void model.stop().catch((error: unknown) => log.error('could not stop delay and transactional messages', { error }));
    },
    toMaster: async () => {
      await copiedTailReadable(store, log, COPIED_TAIL_WAIT_MS);
      await stateBecomesMaster(state);
      await permission.applyFlag(config.permission);
      await model.start();
    },
  };
  const controllerLink = config.controller.length === 0 ? undefined : await openControllerLink({
    controllers: config.controller, replica, store, state: roleState, log, peer,
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
        role: roleState.role, epoch: roleState.epoch, endpoint, masterAddress: config.master,
        clusterName: config.clusterName, brokerName: config.brokerName, brokerId: config.brokerId, nameServers, log, credentials: peerCredentials,
        executor: new LocalRoleExecutor({ store, epochs: await EpochFile.open(join(config.dataDir, 'store', 'epochs.json')), replica, state: roleState, registerNow: () => registrar.registerNow(), journalRole }),
      });
  const registrar = new NameServerRegistrar({
    nameServers,
    log,
    intervalMs: config.registerIntervalMs,
    clusterCredentials: clusterSecret ? { accessKey: CLUSTER_ACCESS_KEY, secret: clusterSecret } : undefined,
    channelCredentials: peerCredentials,
    registration: () => ({
      broker: { clusterName: config.clusterName, brokerName: config.brokerName, brokerId: BigInt(config.brokerId) },
      endpoint,
      zone: config.zone,
      brokerPerm: permission.value,
      topics: topics.list().map(topicToWire),
      // As routed: a slave registers in its master's epoch (name servers route one epoch per group).
      role: roles.current().role === 'master' ? namesrv.BrokerRole.MASTER : namesrv.BrokerRole.SLAVE,
      epoch: BigInt(roles.current().epoch),
    }),
  });
  const followedMaster = () => {
    const status = replica.status();
    return status.role === 'slave' ? status.masterEndpoint : undefined;
  };
  roles.onChange((view) => {
    log.info('role changed', { ...view });
    // Without a controller, a slave copies the log of whichever master the name servers route.
    if (!controllerLink && view.role === 'slave' && view.masterEndpoint && view.masterEndpoint !== endpoint && followedMaster() !== view.masterEndpoint) {
      replica.becomeSlave(view.masterEndpoint).catch((error: unknown) => log.error('could not follow the master', { master: view.masterEndpoint, error }));
    }
    void registrar.registerNow();
  });
  const routes = new RouteResolver(nameServers, {
    clusterName: config.clusterName, brokerName: config.brokerName, brokerId: config.brokerId, endpoint, zone: config.zone, perm: () => permission.value, role: () => roles.current().role, epoch: () => roles.current().epoch,
  }, log, peerCredentials);
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
  const forwarder = new MasterForwarder({ roles, selfEndpoint: endpoint, brokerName: config.brokerName, holdMs: config.forwardHoldMs, log, onForward: forwardMetrics.forwarded, credentials: peerCredentials });
  // Every call of both services passes this one guard first (none without --auth: no wrapper per call).
  const errorLog = (message: string, fields: Record<string, unknown>) => log.error(message, fields);
  const guard: CallGuard | undefined = config.auth
    ? accessGuard({ users, bootstrapAdmin: { name: config.authAdminUser, secret: adminSecret }, clock, clockSkewMsMax: config.authClockSkewMs, log })
    : undefined;
  if (config.auth) log.info('authentication on', { adminUser: config.authAdminUser, users: users.list().length });
  const messagingHandlers = guardHandlers(v2.MessagingService, withForwarding(messagingService({
    topics, producer, consumer, routes, log, metrics, tracing: messageTracing, clientMetrics: createClientMetrics(metricsRegistry), endpoint, brokerName: config.brokerName,
    isMaster: () => role() === 'master', requireInSync: () => replica.master()?.requireInSync(), epoch, autoCreateTopic, groups, model, producerStreams, pulls,
    membership: new GroupMembership(), clock, pushLongPollingMs: config.pushLongPollingMs, pushInvisibleMs: config.pushInvisibleMs, permission,
  }), { roles, forwarder, brokerName: config.brokerName, onRefused: forwardMetrics.refused }), guard, errorLog);
  addService(grpcServer, v2.MessagingService, messagingHandlers);
  // The official client's one call per message and its receives, without grpc-js's per-call layer
  // (fast-path.ts): only where no call guard and no tracing would see the call, and while
  // master (a slave forwards).
  const fastPath = !guard && !tracing.enabled && serveFastPath(grpcServer, messagingFastMethods(messagingHandlers), { receiveBytesMax: GRPC_RECEIVE_BYTES_MAX, budget: requestBudget, enabled: () => role() === 'master', clock });
  log.info('unary fast path', { methods: fastPath ? ['SendMessage', 'AckMessage', 'ReceiveMessage'] : [] });
  // A slave's Follow stream, each log batch encoded once into a reused frame (follow-fast-path.ts):
  // under the same conditions, and no cluster secret either.
  const followFastPath = !guard && !replicationGuard && !tracing.enabled && serveBidiFastPath(grpcServer, [followFastMethod(replicationHandlers.follow)], { receiveBytesMax: GRPC_RECEIVE_BYTES_MAX, clock });
  log.info('bidi fast path', { methods: followFastPath ? ['Follow'] : [] });
  addService(grpcServer, admin.AdminService, guardHandlers(admin.AdminService, unaryHandlers(adminService({
    topics, groups, progress, store, role, epoch, roles, model, replication: () => replica.status(),
    identity: { clusterName: config.clusterName, brokerName: config.brokerName, brokerId: config.brokerId },
    permission,
    users,
    allowFifoGrowth: config.allowFifoQueueGrowth,
    onRouteChanged: () => void registrar.registerNow(),
  }), errorLog), guard, errorLog));

  // Cluster membership and the HTTP side.
  await registrar.start();
  controllerLink?.start();
  const httpAddress = parseHostPort(config.httpListen, '--http-listen');
  const peerHealth = new PeerHealth({
    clock, boundMs: config.healthPeerLostMs,
    view: () => ({ replication: replica.status(), ...(controllerLink ? { controller: { ...controllerLink.status(), addresses: config.controller } } : {}) }),
  });
  const http = await startHttpServer({ host: httpAddress.host, port: httpAddress.port, registry: metricsRegistry, health: () => [...storeHealth(store.stats()), ...peerHealth.problems()] });

  onShutdown(log, async () => {
    await controllerLink?.stop();
    peerHealth.close();
    await registrar.stop();
    await shutdownServer(grpcServer, GRPC_SHUTDOWN_GRACE_MS);
    await replica.stop();
    consumer.close();
    pulls.close();
    routes.close();
    forwarder.close();
    roles.close();
    await model.stop();
    await state.journal.close();
    await store.close();
    await http.close();
    await tracing.shutdown(); // sends the spans still buffered
  });
  log.info('tracing', { traces: tracing.description });
  // grpc is what peers dial (--advertise when set); listen is where this process accepts them.
  announceReady(log, { grpc: endpoint, listen: `${grpcAddress.host}:${grpcPort}`, http: `${httpAddress.host}:${http.port}` });
}

main().catch((error: unknown) => {
  process.stderr.write(`broker failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
