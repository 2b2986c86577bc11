// Thousands of queues do not take thousands of file descriptors: consume-queue files are opened
// through one pool that closes idle handles (at most 256 kept), so a broker with 2,048 queues,
// every one written and read, and then restarted (recovery opens every queue), stays far below
// a process's usual descriptor limit (1,024).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { admin, createClient, durationFromMs, v2 } from '@rmq/contracts';
import { killAllApps, makeTempDir, startApp, type AppProcess } from '@rmq/testing';

const temp = makeTempDir('open-files');
const TOPICS = ['Wide1', 'Wide2'];
const QUEUES_PER_TOPIC = 1_024;
/** The pool's 256 idle handles, plus commit-log segments, index, state, sockets and node's own. */
const DESCRIPTORS_MAX = 450;

function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function startBroker(): Promise<AppProcess> {
  return startApp('broker', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', join(temp.path, 'broker'), '--name-servers', '', '--flush-mode', 'async']);
}

afterAll(async () => {
  await killAllApps();
  temp.remove();
});

it('keeps descriptors bounded with 2,048 queues written, read and recovered', async () => {
  let broker = await startBroker();
  const adminClient = createClient(admin.AdminService, broker.endpoints.grpc);
  const messaging = createClient(v2.MessagingService, broker.endpoints.grpc);
  try {
    for (const topic of TOPICS) await adminClient.createTopic({ name: topic, queueCount: QUEUES_PER_TOPIC }, { deadlineMs: 5_000 });
    for (const topic of TOPICS) {
      for (let sent = 0; sent < QUEUES_PER_TOPIC; sent += 256) {
        const reply = await messaging.sendMessage({
          messages: Array.from({ length: 256 }, () => ({
            topic: { name: topic }, body: Buffer.from('x'),
            systemProperties: { messageId: randomBytes(16).toString('hex').toUpperCase(), bodyEncoding: v2.Encoding.IDENTITY, messageType: v2.MessageType.NORMAL },
          })),
        }, { deadlineMs: 10_000 });
        expect(reply.status?.code).toBe(v2.Code.OK);
      }
    }
    const afterWrites = openDescriptors(broker.pid);
    expect(afterWrites).toBeLessThan(DESCRIPTORS_MAX);

    // A receive looks at every queue of the topic: every queue (each holds one message, sent
    // round robin) is read.
    for (const topic of TOPICS) {
      const queueIds = new Set<number>();
      let received = 0;
      for (let round = 0; round < 20 && received < QUEUES_PER_TOPIC; round++) {
        const stream = messaging.receiveMessage({
          group: { name: `readers-${topic}` }, messageQueue: { topic: { name: topic } }, filterExpression: { type: v2.FilterType.TAG, expression: '*' },
          batchSize: 1_024, invisibleDuration: durationFromMs(60_000), longPollingTimeout: durationFromMs(1_000),
        }, { deadlineMs: 20_000 });
        for await (const reply of stream as AsyncIterable<v2.ReceiveMessageResponse>) {
          if (reply.content.case !== 'message') continue;
          received++;
          queueIds.add(reply.content.value.systemProperties!.queueId);
        }
      }
      expect({ received, queues: queueIds.size }).toEqual({ received: QUEUES_PER_TOPIC, queues: QUEUES_PER_TOPIC });
    }
    const afterReads = openDescriptors(broker.pid);
    expect(afterReads).toBeLessThan(DESCRIPTORS_MAX);

    // Recovery opens every queue again.
    adminClient.close();
    messaging.close();
    await broker.kill('SIGTERM');
    broker = await startBroker();
    const afterRestart = openDescriptors(broker.pid);
    process.stdout.write(`open-files: ${TOPICS.length * QUEUES_PER_TOPIC} queues; descriptors after writes ${afterWrites}, after reads ${afterReads}, after restart ${afterRestart}\n`);
    expect(afterRestart).toBeLessThan(DESCRIPTORS_MAX);
  } finally {
    adminClient.close();
    messaging.close();
  }
}, 120_000);
