// Broker: stores messages and serves apache.rocketmq.v2.MessagingService (what the official
// clients speak) and rmq.admin.v1.AdminService on one gRPC port.
import * as grpc from '@grpc/grpc-js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GROUP_NAME_LENGTH_MAX, nameProblem, systemClock } from '@rmq/base';
import { ConfigError, parseHostPort, readConfigOrExit } from '@rmq/config';
import { addService, admin, listen, shutdownServer, unaryHandlers, v2 } from '@rmq/contracts';
import { ConsumerService, FilePullOffsets, MESSAGING_LIMITS, ConsumptionStore, parseRetryDelays, ProducerService, PullService, TimerService, TopicRegistry, TransactionService } from '@rmq/messaging';
import { announceReady, createLogger, createRegistry, onShutdown, startHttpServer, type LogLevel } from '@rmq/observability';
import { GroupMembership } from '@rmq/routing';
import { MessageStore } from '@rmq/store';
import { adminService, topicToWire } from './admin-service';
import { BrokerPermission } from './broker-permission';
import { brokerConfigSchema } from './broker-config';
import { createBrokerMetrics } from './broker-metrics';
import { createModelMetrics } from './model-metrics';
import { toWireMessage } from './message-codec';
import { ProducerStreams } from './producer-streams';
import { logStoreEvent } from './store-events';
import { createStoreMetrics } from './store-metrics';
import { messagingService } from './messaging-service';
import { NameServerRegistrar } from './name-server-registrar';
import { loadReceiptSecret } from './receipt-secret';
import { RouteResolver } from './route-resolver';

const GRPC_SHUTDOWN_GRACE_MS = 3_000;
/** Above the body limit plus the envelope, so an oversized body gets our clear status, not gRPC's. */
const GRPC_RECEIVE_BYTES_MAX = 32 * 1024 * 1024;

async function main(): Promise<void> {
  let retryDelaysMs: number[] = [];
  const broadcastGroups = new Set<string>();
  const config = readConfigOrExit(brokerConfigSchema, 'broker', {
    check: (options) => {
      try {
        retryDelaysMs = parseRetryDelays(options.retryDelays);
      } catch (error) {
        throw new ConfigError(`--retry-delays: ${(error as Error).message}`);
      }
      for (const group of options.broadcastGroups.split(',').map((name) => name.trim()).filter(Boolean)) {
        const problem = nameProblem(group, GROUP_NAME_LENGTH_MAX);
        if (problem) throw new ConfigError(`--broadcast-groups: consumer group name ${JSON.stringify(group)} is not valid: ${problem}`);
        broadcastGroups.add(group);
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
  const metricsRegistry = createRegistry({ app: 'broker', cluster: config.clusterName, node_id: config.brokerName });
  const storeMetrics = createStoreMetrics(metricsRegistry);

  // Storage and domain.
  const store = await MessageStore.open({
    dataDir: join(config.dataDir, 'store'),
    flushMode: config.flushMode as 'sync' | 'async',
    flushIntervalMs: config.flushIntervalMs,
    segmentSizeBytes: config.segmentSizeMib * 1024 * 1024,
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
  const topics = await TopicRegistry.open(config.dataDir);
  const permission = await BrokerPermission.open(config.dataDir, config.permission);
  const consumption = await ConsumptionStore.open(config.dataDir);
  const metrics = createBrokerMetrics(metricsRegistry, { store, topics, consumption });
  let timers: TimerService | undefined;
  let transactions: TransactionService | undefined;
  const modelMetrics = createModelMetrics(metricsRegistry, { timers: () => timers, transactions: () => transactions });
  timers = await TimerService.open({
    store, clock, delayMsMax: config.timerDelayMaxMs, dir: join(config.dataDir, 'timer'),
    queueCountOf: (topic) => topics.get(topic)?.queueCount,
    onError: (error) => log.error('delay messages: store or file operation failed; retrying', { error }),
    onDelivered: (topic, latenessMs) => modelMetrics.timerDelivered(topic, latenessMs),
    onDropped: (topic, messageId) => {
      modelMetrics.timerDropped(topic);
      log.warn('delay message dropped: its topic no longer exists', { topic, messageId });
    },
  });
  log.info('delay messages recovered', { ...timers.stats() });
  const producerStreams = new ProducerStreams();
  transactions = await TransactionService.open({
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
  log.info('open transactions recovered', { ...transactions.stats() });
  const producer = new ProducerService(store, topics, undefined, { DELAY: timers.stager(), TRANSACTION: transactions.stager() });
  // Pull consumers' committed offsets: a file until the state journal takes consumer progress.
  const pulls = new PullService(store, topics, await FilePullOffsets.open(config.dataDir), clock);
  const consumer = new ConsumerService({ store, topics, consumption, clock, secret: await loadReceiptSecret(config.dataDir), deliveryAttemptsMax: config.deliveryAttemptsMax, retryDelaysMs, broadcastGroups,
    onDeadLetter: (group, record) => {
      metrics.deadLettered(record.topic, group);
      log.info('message moved to the dead-letter topic', { group, topic: record.topic, queueId: record.queueId, queueOffset: record.queueOffset });
    },
    onSweepError: (error) => log.error('moving messages to dead-letter topics failed; retrying', { error }) });
  const consumptionTimer = setInterval(() => void consumption.persist().catch((error) => log.error('could not persist consumer state', { error })), MESSAGING_LIMITS.consumptionPersistIntervalMs);
  const role = () => config.role;
  const endpointRef = { value: config.listen };
  const epoch = () => 0;

  // gRPC: MessagingService + AdminService.
  const grpcAddress = parseHostPort(config.listen, '--listen');
  const grpcServer = new grpc.Server({ 'grpc.max_receive_message_length': GRPC_RECEIVE_BYTES_MAX });
  const grpcPort = await listen(grpcServer, grpcAddress.host, grpcAddress.port);
  const endpoint = config.advertise || `${grpcAddress.host}:${grpcPort}`;
  endpointRef.value = endpoint;
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
    }),
  });
  const routes = new RouteResolver(nameServers, { brokerName: config.brokerName, endpoint, zone: config.zone, perm: () => permission.value }, log);
  const autoCreateTopic = config.autoCreateTopics
    ? async (name: string) => {
        const { created } = await topics.create(name, { queueCount: config.defaultQueueCount });
        if (created) {
          log.info('topic auto-created', { topic: name });
          void registrar.registerNow();
        }
      }
    : undefined;
  addService(grpcServer, v2.MessagingService, messagingService({
    topics, producer, consumer, routes, log, metrics, endpoint, brokerName: config.brokerName,
    isMaster: () => role() === 'master', epoch, autoCreateTopic, timers, transactions, producerStreams, pulls, deliveryAttemptsMax: config.deliveryAttemptsMax, retryDelaysMs,
    membership: new GroupMembership(), clock, pushLongPollingMs: config.pushLongPollingMs, pushInvisibleMs: config.pushInvisibleMs, permission, broadcastGroups,
  }));
  addService(grpcServer, admin.AdminService, unaryHandlers(adminService({
    topics, store, role, epoch, transactions,
    identity: { clusterName: config.clusterName, brokerName: config.brokerName, brokerId: config.brokerId },
    permission,
    onRouteChanged: () => void registrar.registerNow(),
  }), (message, fields) => log.error(message, fields)));

  // Cluster membership and the HTTP side.
  await registrar.start();
  const httpAddress = parseHostPort(config.httpListen, '--http-listen');
  const http = await startHttpServer({ host: httpAddress.host, port: httpAddress.port, registry: metricsRegistry, health: () => [] });

  onShutdown(log, async () => {
    await registrar.stop();
    await shutdownServer(grpcServer, GRPC_SHUTDOWN_GRACE_MS);
    consumer.close();
    pulls.close();
    routes.close();
    clearInterval(consumptionTimer);
    await consumption.persist();
    await timers?.close();
    transactions?.close();
    await store.close();
    await http.close();
  });
  announceReady(log, { grpc: endpoint, http: `${httpAddress.host}:${http.port}` });
}

main().catch((error: unknown) => {
  process.stderr.write(`broker failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
