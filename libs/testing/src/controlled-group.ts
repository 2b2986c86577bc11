// One broker group under a real replication controller, as real processes on loopback: a
// controller (file store), a name server (the clients' access point) and N brokers started with
// --controller, which decides who is master. For failover and chaos tests. Brokers keep their
// address and data across restarts; every process's log lines are kept, also of dead ones.
// With `proxied`, each broker's traffic from its peers (slaves, the controller's assignments
// name it; clients through routes) and its own calls to the controller go through fault proxies,
// so a test can cut one broker off while a client still reaches it directly (`directEndpoints`).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { admin, controller, create, createClient, namesrv, v2 } from '@rmq/contracts';
import { eventually } from './eventually';
import { makeTempDir } from './temp-dir';
import { startApp, type AppProcess } from './app-process';
import { startFaultProxy, type FaultProxy } from './fault-proxy';
import { commitLogSegments } from './replica-group';

export const CONTROLLED_GROUP_NAME = 'broker-a';

export interface BrokerProxies {
  /** What the broker advertises: slaves, forwarding slaves and routed clients dial this. */
  inbound: FaultProxy;
  /** The broker's --controller. */
  toController: FaultProxy;
}

export interface ControlledGroupOptions {
  brokers: number;
  /** Given to every broker start (e.g. --flush-mode sync). */
  brokerArgs?: string[];
  /** Given to the controller (e.g. --broker-timeout-ms). */
  controllerArgs?: string[];
  proxied?: boolean;
}

export type ReplicaGroupView = controller.ReplicaGroupStatus;

export interface ControlledGroup {
  controller: AppProcess;
  nameServer: AppProcess;
  /** The name server: the access point the README tells users to configure. */
  accessPoint: string;
  /** The running process of each broker, by broker id (undefined while stopped). */
  brokers: (AppProcess | undefined)[];
  /** What each broker advertises (its proxy when proxied), by broker id; kept across restarts. */
  endpoints: string[];
  /** Where each broker listens, by broker id: a client dialing it bypasses any proxy. */
  directEndpoints: string[];
  dataDirs: string[];
  proxies: BrokerProxies[];
  /** Every process each broker ran so far, oldest first (their logs stay readable). */
  incarnations: AppProcess[][];
  start(brokerId: number): Promise<AppProcess>;
  kill(brokerId: number, signal?: NodeJS.Signals): Promise<void>;
  /** The group as the controller sees it. */
  view(): Promise<ReplicaGroupView>;
  /** Waits until the controller names a live master in an epoch above `afterEpoch` that also serves as master; returns it. */
  waitForMaster(options?: { afterEpoch?: number; timeoutMs?: number }): Promise<{ brokerId: number; epoch: number }>;
  /** Waits until every broker in `brokerIds` is in the controller's in-sync set and has the master's whole log. */
  waitInSync(brokerIds: number[], options?: { timeoutMs?: number }): Promise<void>;
  brokerStatus(brokerId: number, endpoint?: string): Promise<admin.GetBrokerStatusResponse>;
  /** Creates the topic on the current master and waits until the name server routes it to every running broker. */
  createTopic(name: string, options?: { queueCount?: number; messageType?: namesrv.TopicMessageType }): Promise<void>;
  /** Each broker's commit log bytes below `logOffset` (all of it when undefined), by broker id. */
  commitLogs(logOffset?: number): Buffer[];
  /** Each broker's epoch file entries (which epoch wrote which part of its log), by broker id. */
  epochFiles(): { epoch: number; startLogOffset: number }[][];
  /** Every `master elected` decision the controller logged, oldest first. */
  elections(): { epoch: number; brokerId: number }[];
  /** (epoch, broker id) of every broker process that served as master, in the order they logged it. */
  mastersServed(): { epoch: number; brokerId: number }[];
  stop(): Promise<void>;
}

export async function startControlledGroup(options: ControlledGroupOptions): Promise<ControlledGroup> {
  const temp = makeTempDir('controlled-group');
  const controllerApp = await startApp('replication', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', `${temp.path}/controller`, ...(options.controllerArgs ?? [])], { label: 'controller' });
  const nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--expire-interval-ms', '500']);
  const controllerClient = createClient(controller.ControllerService, controllerApp.endpoints.grpc);
  const nameServerClient = createClient(namesrv.NameServerService, nameServer.endpoints.grpc);
  const brokers: (AppProcess | undefined)[] = [];
  const endpoints: string[] = [];
  const directEndpoints: string[] = [];
  const dataDirs = Array.from({ length: options.brokers }, (_, id) => `${temp.path}/broker-${id}`);
  const incarnations: AppProcess[][] = dataDirs.map(() => []);
  const proxies: BrokerProxies[] = [];
  if (options.proxied) {
    for (let id = 0; id < options.brokers; id++) {
      proxies.push({ inbound: await startFaultProxy(), toController: await startFaultProxy({ upstream: controllerApp.endpoints.grpc }) });
    }
  }

  const start = async (brokerId: number) => {
    const proxy = proxies[brokerId];
    const broker = await startApp('broker', [
      '--listen', directEndpoints[brokerId] ?? '127.0.0.1:0',
      ...(proxy ? ['--advertise', proxy.inbound.address] : []),
      '--http-listen', '127.0.0.1:0',
      '--data-dir', dataDirs[brokerId],
      '--name-servers', nameServer.endpoints.grpc,
      '--controller', proxy ? proxy.toController.address : controllerApp.endpoints.grpc,
      '--broker-name', CONTROLLED_GROUP_NAME,
      '--broker-id', String(brokerId),
      '--register-interval-ms', '500',
      ...(options.brokerArgs ?? []),
    ], { label: `broker-${brokerId}` });
    brokers[brokerId] = broker;
    endpoints[brokerId] = broker.endpoints.grpc;
    directEndpoints[brokerId] = broker.endpoints.listen ?? broker.endpoints.grpc;
    proxy?.inbound.setUpstream(directEndpoints[brokerId]);
    incarnations[brokerId].push(broker);
    void broker.exited.then(() => {
      if (brokers[brokerId] === broker) brokers[brokerId] = undefined;
    });
    return broker;
  };

  const view = async () => {
    const reply = await controllerClient.getReplicaGroup({ brokerName: CONTROLLED_GROUP_NAME }, { deadlineMs: 2_000 });
    if (!reply.group) throw new Error(`the controller knows no group ${CONTROLLED_GROUP_NAME} yet`);
    return reply.group;
  };
  const brokerStatus = async (brokerId: number, endpoint = directEndpoints[brokerId]) => {
    const client = createClient(admin.AdminService, endpoint);
    try {
      return await client.getBrokerStatus({}, { deadlineMs: 2_000 });
    } finally {
      client.close();
    }
  };
  const group: ControlledGroup = {
    controller: controllerApp,
    nameServer,
    accessPoint: nameServer.endpoints.grpc,
    brokers,
    endpoints,
    directEndpoints,
    dataDirs,
    proxies,
    incarnations,
    start,
    async kill(brokerId, signal = 'SIGKILL') {
      await brokers[brokerId]?.kill(signal);
    },
    view,
    async waitForMaster({ afterEpoch = 0, timeoutMs = 15_000 } = {}) {
      return eventually(async () => {
        const current = await view();
        const brokerId = Number(current.masterBrokerId);
        const epoch = Number(current.epoch);
        if (epoch <= afterEpoch || !current.masterAlive) throw new Error(`no live master after epoch ${afterEpoch} yet (controller: epoch ${epoch}, master ${brokerId}, alive ${current.masterAlive})`);
        if (!brokers[brokerId]) throw new Error(`the controller names broker ${brokerId}, which is not running`);
        const status = await brokerStatus(brokerId);
        if (status.role !== 'master' || Number(status.epoch) !== epoch) throw new Error(`broker ${brokerId} is ${status.role} in epoch ${status.epoch}, not yet master of epoch ${epoch}`);
        return { brokerId, epoch };
      }, { timeoutMs, intervalMs: 20 });
    },
    async waitInSync(brokerIds, { timeoutMs = 20_000 } = {}) {
      await eventually(async () => {
        const current = await view();
        const inSync = current.inSyncBrokerIds.map(Number);
        const missing = brokerIds.filter((id) => !inSync.includes(id));
        if (missing.length > 0) throw new Error(`brokers ${missing.join(', ')} not in the controller's in-sync set ${JSON.stringify(inSync)} (epoch ${current.epoch})`);
        const master = await brokerStatus(Number(current.masterBrokerId));
        for (const id of brokerIds) {
          if (id === Number(current.masterBrokerId)) continue;
          const slave = master.slaves.find((s) => s.replicaId === String(id));
          if (!slave?.inSync) throw new Error(`broker ${id} is not in sync with master ${current.masterBrokerId}: ${JSON.stringify(slave ?? 'not following', (_, v) => (typeof v === 'bigint' ? Number(v) : v))}`);
        }
      }, { timeoutMs, intervalMs: 50 });
    },
    brokerStatus,
    async createTopic(name, topicOptions = {}) {
      const master = await group.waitForMaster();
      const client = createClient(admin.AdminService, directEndpoints[master.brokerId]);
      try {
        await client.createTopic({ name, queueCount: topicOptions.queueCount ?? 4, messageType: topicOptions.messageType ?? namesrv.TopicMessageType.NORMAL }, { deadlineMs: 5_000 });
      } finally {
        client.close();
      }
      const running = brokers.filter(Boolean).length;
      await eventually(async () => {
        const route = await nameServerClient.getTopicRoute({ topic: name }, { deadlineMs: 2_000 });
        if (route.brokers.length !== running) throw new Error(`topic ${name} is routed to ${route.brokers.length} brokers, not yet to all ${running}`);
      }, { timeoutMs: 15_000 });
    },
    commitLogs(logOffset) {
      return dataDirs.map((dir) => {
        const log = Buffer.concat([...commitLogSegments(dir).values()]);
        return logOffset === undefined ? log : log.subarray(0, logOffset);
      });
    },
    epochFiles() {
      return dataDirs.map((dir) => JSON.parse(readFileSync(join(dir, 'store', 'epochs.json'), 'utf8')).entries);
    },
    elections() {
      return controllerApp.logs.filter((line) => line.msg === 'master elected').map((line) => ({ epoch: Number(line.epoch), brokerId: Number(line.master) }));
    },
    mastersServed() {
      const served: { epoch: number; brokerId: number; atMs: number }[] = [];
      incarnations.forEach((processes, brokerId) => {
        for (const process of processes) {
          for (const line of process.logs) {
            if (line.msg === 'role action done' && line.action === 'serveAsMaster') served.push({ epoch: Number(line.epoch), brokerId, atMs: Date.parse(String(line.time ?? '')) || 0 });
          }
        }
      });
      return served.sort((a, b) => a.atMs - b.atMs).map(({ epoch, brokerId }) => ({ epoch, brokerId }));
    },
    async stop() {
      controllerClient.close();
      nameServerClient.close();
      for (const broker of brokers) if (broker && broker.child.exitCode === null && broker.child.signalCode === null) await broker.kill('SIGTERM');
      await controllerApp.kill('SIGTERM');
      await nameServer.kill('SIGTERM');
      for (const proxy of proxies) {
        await proxy.inbound.close();
        await proxy.toController.close();
      }
      temp.remove();
    },
  };
  for (let brokerId = 0; brokerId < options.brokers; brokerId++) await start(brokerId);
  return group;
}

/** A SendMessage request of one normal message, for clients that talk to one broker directly. */
export function directSendRequest(topic: string, messageId: string, body: string): v2.SendMessageRequest {
  return create(v2.SendMessageRequestSchema, {
    messages: [{ topic: { name: topic }, body: Buffer.from(body), systemProperties: { messageId, bodyEncoding: v2.Encoding.IDENTITY, messageType: v2.MessageType.NORMAL } }],
  });
}
