// The real rmq process (bin/rmq.js -> dist/main.js) against real app processes on loopback:
// exit codes, what lands on stdout and stderr, and the text a person reads.
import { createServer, type Server, type Socket } from 'node:net';
import { createClient, namesrv, v2 } from '@rmq/contracts';
import { eventually, killAllApps, makeTempDir, RMQ_RUN_TIMEOUT_MS, runRmq, startApp, type AppProcess } from '@rmq/testing';

const rmq = runRmq;

/** A TCP port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('rmq against a real name server', () => {
  let nameServer: AppProcess;

  beforeAll(async () => {
    nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']);
  });

  afterAll(async () => {
    await killAllApps();
  });

  it('cluster status says so when no broker is registered', async () => {
    const run = await rmq(['cluster', 'status', '--name-server', nameServer.endpoints.grpc]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`No brokers are registered with name server ${nameServer.endpoints.grpc}`);
  });

  describe('with a registered broker', () => {
    beforeAll(async () => {
      const client = createClient(namesrv.NameServerService, nameServer.endpoints.grpc);
      try {
        await client.registerBroker(
          {
            broker: { clusterName: 'DefaultCluster', brokerName: 'broker-a', brokerId: 0n },
            endpoint: '127.0.0.1:18081',
            zone: 'zone-1',
            topics: [{ name: 'TestTopic', readQueueCount: 8, writeQueueCount: 8, perm: 6, messageType: namesrv.TopicMessageType.NORMAL }],
            leaseMs: 60_000n,
            brokerPerm: 6,
          },
          { deadlineMs: 5_000 },
        );
      } finally {
        client.close();
      }
    });

    it('cluster status shows it as a table row', async () => {
      const run = await rmq(['cluster', 'status', '--name-server', nameServer.endpoints.grpc]);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe(`Name server ${nameServer.endpoints.grpc}: 1 live broker`);
      expect(lines[2]).toMatch(/^CLUSTER\s+BROKER\s+ID\s+ROLE\s+EPOCH\s+ENDPOINT\s+ZONE\s+PERM\s+TOPICS\s+LAST HEARTBEAT$/);
      expect(lines[3]).toMatch(/^DefaultCluster\s+broker-a\s+0\s+master\s+\d+\s+127\.0\.0\.1:18081\s+zone-1\s+RW\s+1\s+\d+\.\d s ago$/);
    });

    it('cluster status --json prints the reply for scripts, reading the address from RMQ_NAME_SERVER', async () => {
      const run = await rmq(['cluster', 'status', '--json'], { RMQ_NAME_SERVER: nameServer.endpoints.grpc });
      expect(run).toMatchObject({ code: 0, stderr: '' });
      const reply = JSON.parse(run.stdout);
      expect(reply.brokers).toHaveLength(1);
      expect(reply.brokers[0].broker).toMatchObject({ broker: { brokerName: 'broker-a', brokerId: '0' }, endpoint: '127.0.0.1:18081' });
      expect(reply.brokers[0].topicCount).toBe(1);
    });
  });
});

describe('rmq against a real broker', () => {
  let nameServer: AppProcess;
  let broker: AppProcess;
  const dataDir = makeTempDir('cli-broker');

  beforeAll(async () => {
    nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']);
    broker = await startApp('broker', [
      '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', dataDir.path, '--name-servers', nameServer.endpoints.grpc,
    ]);
  });

  afterAll(async () => {
    await killAllApps();
    dataDir.remove();
  });

  it('topic create makes a topic, and says so when it already exists with the same settings', async () => {
    const first = await rmq(['topic', 'create', 'Orders', '--queues', '4', '--type', 'fifo', '--broker', broker.endpoints.grpc]);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout.trim()).toBe(`Created topic Orders on broker ${broker.endpoints.grpc}: 4 queues, fifo messages, perm RW.`);

    const again = await rmq(['topic', 'create', 'Orders', '--queues', '4', '--type', 'fifo'], { RMQ_BROKER: broker.endpoints.grpc });
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toContain('already exists');
  });

  it('topic create with different settings fails with exit code 1 and the stable error code', async () => {
    await rmq(['topic', 'create', 'Payments', '--queues', '2', '--broker', broker.endpoints.grpc]);
    const run = await rmq(['topic', 'create', 'Payments', '--queues', '3', '--broker', broker.endpoints.grpc]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^error: cannot create topic Payments: topic Payments already exists .*\[TOPIC_EXISTS\]$/)]);
  });

  it('topic update grows the queue count and changes the permission; shrinking fails with the reason', async () => {
    await rmq(['topic', 'create', 'Growing', '--queues', '2', '--broker', broker.endpoints.grpc]);
    const grown = await rmq(['topic', 'update', 'Growing', '--queues', '6', '--perm', 'read', '--broker', broker.endpoints.grpc]);
    expect(grown).toMatchObject({ code: 0, stderr: '' });
    expect(grown.stdout.trim()).toBe(`Updated topic Growing on broker ${broker.endpoints.grpc}: 6 queues, normal messages, perm R-.`);
    const shrink = await rmq(['topic', 'update', 'Growing', '--queues', '3', '--broker', broker.endpoints.grpc]);
    expect(shrink.code).toBe(1);
    expect(shrink.stderr).toMatch(/^error: cannot update topic Growing: topic Growing has 6 queues; a queue count can only grow .*\[BAD_REQUEST\]\n$/);
    const nothing = await rmq(['topic', 'update', 'Growing', '--broker', broker.endpoints.grpc]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('nothing to update: give --queues and/or --perm');
  });

  it('broker permission makes the broker read-only and back, and broker status shows it', async () => {
    const readOnly = await rmq(['broker', 'permission', 'read', '--broker', broker.endpoints.grpc]);
    expect(readOnly).toMatchObject({ code: 0, stderr: '' });
    expect(readOnly.stdout.trim()).toBe(`Broker ${broker.endpoints.grpc} now has permission R-.`);
    expect((await rmq(['broker', 'status', '--broker', broker.endpoints.grpc])).stdout).toMatch(/Permission\s+R-/);
    expect((await rmq(['broker', 'permission', 'read-write', '--broker', broker.endpoints.grpc])).stdout.trim()).toBe(`Broker ${broker.endpoints.grpc} now has permission RW.`);
    const wrong = await rmq(['broker', 'permission', 'none', '--broker', broker.endpoints.grpc]);
    expect(wrong.code).toBe(2);
  });

  it('message send stores messages and message receive prints and acknowledges them', async () => {
    await rmq(['topic', 'create', 'Messages', '--queues', '2', '--broker', broker.endpoints.grpc]);
    const sent = await rmq(['message', 'send', 'Messages', 'hello there', '--tag', 'greeting', '--key', 'k1', '--property', 'region=eu', '--count', '3', '--broker', broker.endpoints.grpc]);
    expect(sent).toMatchObject({ code: 0, stderr: '' });
    expect(sent.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(sent.stdout).toMatch(/^Sent [0-9A-F]{34} to Messages on broker-a \(queue offset \d+\)\.$/m);

    const received = await rmq(['message', 'receive', 'Messages', '--group', 'CliGroup', '--json', '--wait-ms', '1000', '--broker', broker.endpoints.grpc]);
    expect(received.code).toBe(0);
    const messages = received.stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(messages).toHaveLength(3);
    expect(messages[0]).toMatchObject({ topic: 'Messages', tag: 'greeting', keys: ['k1'], properties: { region: 'eu' }, body: 'hello there', deliveryAttempt: 1 });

    const again = await rmq(['message', 'receive', 'Messages', '--group', 'CliGroup', '--wait-ms', '1000', '--broker', broker.endpoints.grpc]);
    expect(again).toMatchObject({ code: 0, stdout: '' });
    expect(again.stderr.trim()).toBe('0 message(s) received and acknowledged.');

    const missing = await rmq(['message', 'send', 'NoSuchTopic', 'x', '--broker', broker.endpoints.grpc]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^error: cannot send to topic NoSuchTopic: .*topic NoSuchTopic does not exist.*\[TOPIC_NOT_FOUND\]$/)]);
  });

  it('message send --delay / --deliver-at schedules a delay message; message recall (through the name server, or a broker) cancels a pending one and refuses a delivered one', async () => {
    await rmq(['topic', 'create', 'Later', '--queues', '2', '--type', 'delay', '--broker', broker.endpoints.grpc]);
    const later = await rmq(['message', 'send', 'Later', 'in a minute', '--delay', '1m', '--broker', broker.endpoints.grpc]);
    expect(later).toMatchObject({ code: 0, stderr: '' });
    const recallCommand = /cancel with: rmq message recall (\S+)$/m.exec(later.stdout);
    expect(recallCommand).not.toBeNull();
    // As printed, plus where the name server is: it finds the handle's broker group.
    const recalled = await rmq(['message', 'recall', recallCommand![1], '--name-server', nameServer.endpoints.grpc]);
    expect(recalled).toMatchObject({ code: 0, stderr: '' });
    expect(recalled.stdout).toMatch(/^Recalled [0-9A-F]{34} of Later: it will not be delivered\.$/m);

    const now = await rmq(['message', 'send', 'Later', 'right away', '--deliver-at', new Date(Date.now() - 1_000).toISOString(), '--broker', broker.endpoints.grpc]);
    const nowHandle = /cancel with: rmq message recall (\S+)$/m.exec(now.stdout)![1];
    const received = await rmq(['message', 'receive', 'Later', '--group', 'LaterGroup', '--json', '--wait-ms', '1000', '--broker', broker.endpoints.grpc]);
    expect(received.stdout.trimEnd().split('\n').map((line) => JSON.parse(line).body)).toEqual(['right away']);
    const tooLate = await rmq(['message', 'recall', nowHandle, '--broker', broker.endpoints.grpc]);
    expect(tooLate.code).toBe(1);
    expect(tooLate.stderr).toMatch(/^error: cannot recall a message of topic Later: message [0-9A-F]{34} of topic Later was already delivered .*\[PRECONDITION_FAILED\]\n$/);
    const bad = await rmq(['message', 'send', 'Later', 'x', '--delay', 'soon', '--broker', broker.endpoints.grpc]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a delay such as 500ms, 10s, 2m, 1h or 3d, got "soon"');
  });

  it('transaction list shows open transactions of a topic', async () => {
    await rmq(['topic', 'create', 'Orders2', '--queues', '2', '--type', 'transaction', '--broker', broker.endpoints.grpc]);
    const none = await rmq(['transaction', 'list', 'Orders2', '--broker', broker.endpoints.grpc]);
    expect(none).toMatchObject({ code: 0, stderr: '' });
    expect(none.stdout.trim()).toBe('No open transactions on topic Orders2.');
    const client = createClient(v2.MessagingService, broker.endpoints.grpc);
    try {
      const sent = await client.sendMessage({ messages: [{ topic: { name: 'Orders2' }, body: Buffer.from('half'), systemProperties: { messageId: 'TX-CLI-1', messageType: v2.MessageType.TRANSACTION } }] });
      expect(sent.entries[0].transactionId).not.toBe('');
    } finally {
      client.close();
    }
    const open = await rmq(['transaction', 'list', 'Orders2', '--broker', broker.endpoints.grpc]);
    expect(open.stdout.trimEnd().split('\n')).toEqual(['TOPIC  MESSAGE ID  OPEN SINCE  CHECKS  TRANSACTION ID', expect.stringMatching(/^Orders2  TX-CLI-1  \d{4}-\d\d-\d\dT\S+Z  0  \S+$/)]);
  });

  it('message show finds a message by id and message find by key, through the broker\'s index', async () => {
    await rmq(['topic', 'create', 'Indexed', '--queues', '2', '--broker', broker.endpoints.grpc]);
    const sent = await rmq(['message', 'send', 'Indexed', 'order body', '--key', 'order-42', '--tag', 'paid', '--property', 'region=eu', '--broker', broker.endpoints.grpc]);
    const messageId = /^Sent ([0-9A-F]{34}) /.exec(sent.stdout)![1];
    await rmq(['message', 'send', 'Indexed', 'other', '--key', 'order-43', '--broker', broker.endpoints.grpc]);

    const shown = await rmq(['message', 'show', messageId, '--broker', broker.endpoints.grpc]);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(shown.stdout).toMatch(new RegExp(`^Message ${messageId}\n  topic +Indexed \\(queue \\d, offset 0, log offset \\d+\\)`));
    expect(shown.stdout).toMatch(/^ {2}keys +order-42$/m);
    expect(shown.stdout).toMatch(/^ {2}properties +region=eu$/m);
    expect(shown.stdout).toMatch(/^ {2}body +10 bytes: order body$/m);

    const found = await rmq(['message', 'find', '--topic', 'Indexed', '--key', 'order-42', '--json', '--broker', broker.endpoints.grpc]);
    expect(found.code).toBe(0);
    const reply = JSON.parse(found.stdout) as { messages: { messageId: string; tag: string; keys: string[] }[] };
    expect(reply.messages).toEqual([expect.objectContaining({ messageId, tag: 'paid', keys: ['order-42'] })]);

    const none = await rmq(['message', 'find', '--topic', 'Indexed', '--key', 'order-44', '--broker', broker.endpoints.grpc]);
    expect(none).toMatchObject({ code: 0, stdout: 'No message with key order-44 in Indexed.\n' });
    const unknown = await rmq(['message', 'show', '0'.repeat(34), '--broker', broker.endpoints.grpc]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no message 0{34} on /);
  });

  it('answers --json on changes too, shows progress as plain lines when stderr is not a terminal, and has group progress', async () => {
    const created = await rmq(['topic', 'create', 'JsonTopic', '--queues', '1', '--json', '--broker', broker.endpoints.grpc]);
    expect(JSON.parse(created.stdout)).toMatchObject({ created: true, topic: { name: 'JsonTopic' } });
    const permission = await rmq(['broker', 'permission', 'read-write', '--json', '--broker', broker.endpoints.grpc]);
    expect(permission.code).toBe(0);
    expect(() => JSON.parse(permission.stdout)).not.toThrow();

    const sent = await rmq(['message', 'send', 'JsonTopic', 'x', '--count', '100', '--json', '--broker', broker.endpoints.grpc]);
    expect(sent.code).toBe(0);
    expect(sent.stdout.trimEnd().split('\n').map((line) => JSON.parse(line).messageId)).toHaveLength(100);
    expect(sent.stderr).toContain('sent 100/100 (100%)\n');
    expect(sent.stderr).not.toContain('\r');

    await rmq(['message', 'receive', 'JsonTopic', '--group', 'JsonGroup', '--count', '10', '--no-ack', '--wait-ms', '1000', '--broker', broker.endpoints.grpc]);
    const progress = await rmq(['group', 'progress', 'JsonGroup', '--json', '--broker', broker.endpoints.grpc]);
    const reply = JSON.parse(progress.stdout) as { queues: { topic: string; lag: string; inflight: number }[] };
    expect(reply.queues).toEqual([expect.objectContaining({ topic: 'JsonTopic', lag: '100', inflight: 10 })]);
  });

  it('topic list and topic show read back what was created', async () => {
    await rmq(['topic', 'create', 'Listed', '--queues', '2', '--broker', broker.endpoints.grpc]);
    const list = await rmq(['topic', 'list', '--broker', broker.endpoints.grpc]);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(list.stdout).toMatch(/^Listed\s+normal\s+2\s+RW$/m);

    const show = await rmq(['topic', 'show', 'Listed', '--broker', broker.endpoints.grpc]);
    expect(show).toMatchObject({ code: 0, stderr: '' });
    expect(show.stdout).toMatch(/^Queues\s+2 read, 2 write$/m);
    expect(show.stdout.trimEnd().split('\n').slice(-2).map((line) => line.trim().split(/\s+/))).toEqual([
      ['0', '0', '0', '0'],
      ['1', '0', '0', '0'],
    ]);

    const json = JSON.parse((await rmq(['topic', 'show', 'Listed', '--json', '--broker', broker.endpoints.grpc])).stdout);
    expect(json.topic).toMatchObject({ name: 'Listed', readQueueCount: 2, writeQueueCount: 2, messageType: 'TOPIC_MESSAGE_TYPE_NORMAL' });
    expect(json.queues).toEqual([
      { queueId: 0, minOffset: '0', maxOffset: '0' },
      { queueId: 1, minOffset: '0', maxOffset: '0' },
    ]);
  });

  it('topic show of a missing topic exits 1 and says how to create it', async () => {
    const run = await rmq(['topic', 'show', 'Missing', '--broker', broker.endpoints.grpc]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe('error: cannot show topic Missing: topic Missing does not exist; create it with `rmq topic create Missing` [TOPIC_NOT_FOUND]');
  });

  it('broker status shows identity, role and flush mode', async () => {
    const run = await rmq(['broker', 'status', '--broker', broker.endpoints.grpc]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^Broker\s+broker-a \(id 0, cluster DefaultCluster\)$/m);
    expect(run.stdout).toMatch(/^Role\s+master$/m);
    expect(run.stdout).toMatch(/^Flush mode\s+sync$/m);
  });

  it('cluster status lists the broker once it has registered with the name server', async () => {
    await eventually(async () => {
      const run = await rmq(['cluster', 'status', '--name-server', nameServer.endpoints.grpc]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^DefaultCluster\\s+broker-a\\s+0\\s+master\\s+\\d+\\s+${broker.endpoints.grpc.replace(/\./g, '\\.')}\\s`, 'm'));
    });
  });
});

describe('rmq without a server', () => {
  it('reads like a well-kept CLI on --help', async () => {
    const run = await rmq(['--help']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('Usage: rmq [options] [command]');
    for (const command of ['topic', 'cluster', 'broker']) expect(run.stdout).toMatch(new RegExp(`^  ${command}\\s+\\S`, 'm'));
    expect(run.stdout).toContain('rmq topic create TestTopic');
  });

  it('documents topic create: argument, options with defaults, examples', async () => {
    const run = await rmq(['topic', 'create', '--help']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('Usage: rmq topic create [options] <name>');
    expect(run.stdout).toMatch(/-q, --queues <count>/);
    expect(run.stdout).toMatch(/-b, --broker <host:port>[\s\S]*default:\s+"127\.0\.0\.1:8081"/);
    expect(run.stdout).toContain('Examples:');
  });

  it('exits 2 on a bad argument, with one error line and a hint, before calling anyone', async () => {
    const run = await rmq(['topic', 'create', 'no spaces please']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      "error: command-argument value 'no spaces please' is invalid for argument 'name'. not a valid topic name: only letters, digits, %, |, _ and - are allowed.",
      '(add --help for usage)',
    ]);
  });

  it('exits 1 with one line when the broker is not reachable', async () => {
    const address = `127.0.0.1:${await closedPort()}`;
    const run = await rmq(['broker', 'status', '--broker', address]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      `error: cannot read the broker status: cannot reach the broker at ${address} (connect ECONNREFUSED ${address}); is it running? \`npm start\` starts a local stack`,
    ]);
  });

  it('gives up at the deadline when a server accepts the connection but never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      const startedMs = Date.now();
      const run = await rmq(['topic', 'list', '--broker', address, '--timeout-ms', '300']);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`error: cannot list topics: the broker at ${address} did not answer within 300 ms`);
      expect(Date.now() - startedMs).toBeLessThan(RMQ_RUN_TIMEOUT_MS / 2);
    } finally {
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
