import { admin, create, namesrv } from '@rmq/contracts';
import { ageText, brokerStatusText, clusterText, createdTopicText, jsonText, keyValues, permText, table, topicListText, topicText } from './format';

const NOW_MS = 1_700_000_000_000;

function topicConfig(name: string, queueCount: number, messageType = namesrv.TopicMessageType.NORMAL) {
  return create(namesrv.TopicConfigSchema, { name, readQueueCount: queueCount, writeQueueCount: queueCount, perm: 6, messageType });
}

function liveBroker(brokerName: string, brokerId: bigint, endpoint: string, lastHeartbeatMs: number, role = namesrv.BrokerRole.MASTER, epoch = 1n, routed = true) {
  return create(namesrv.LiveBrokerSchema, {
    broker: { broker: { clusterName: 'DefaultCluster', brokerName, brokerId }, endpoint, zone: '', role, epoch },
    lastHeartbeatMs: BigInt(lastHeartbeatMs),
    topicCount: 3,
    brokerPerm: 6,
    routed,
  });
}

describe('table', () => {
  it('aligns columns two spaces apart, numbers to the right, without trailing blanks', () => {
    expect(table(['NAME', 'N'], [['a', '1'], ['long-name', '100']], [1])).toBe(['NAME         N', 'a            1', 'long-name  100'].join('\n'));
  });

  it('prints the header alone when there are no rows', () => {
    expect(table(['A', 'B'], [])).toBe('A  B');
  });
});

describe('small formatters', () => {
  it('renders permission bits as RocketMQ does', () => {
    expect([6, 4, 2, 0, 7].map(permText)).toEqual(['RW', 'R-', '-W', '--', 'RW']);
  });

  it('renders heartbeat ages in units a person reads at a glance', () => {
    expect(ageText(NOW_MS - 420, NOW_MS)).toBe('0.4 s ago');
    expect(ageText(NOW_MS - 45_000, NOW_MS)).toBe('45 s ago');
    expect(ageText(NOW_MS - 180_000, NOW_MS)).toBe('3 min ago');
    expect(ageText(NOW_MS - 3 * 3_600_000, NOW_MS)).toBe('3 h ago');
    expect(ageText(NOW_MS + 5, NOW_MS)).toBe('in the future');
  });

  it('lines up key/value blocks', () => {
    expect(keyValues([['A', '1'], ['Longer', '2']])).toBe('A       1\nLonger  2');
  });
});

describe('cluster status text', () => {
  it('lists brokers sorted by group and id, with role, endpoint and heartbeat age', () => {
    const reply = create(namesrv.GetClusterInfoResponseSchema, {
      brokers: [
        liveBroker('broker-b', 0n, '127.0.0.1:8091', NOW_MS - 1_000),
        liveBroker('broker-a', 1n, '127.0.0.1:8082', NOW_MS - 2_000, namesrv.BrokerRole.MASTER, 2n),
        liveBroker('broker-a', 0n, '127.0.0.1:8081', NOW_MS - 500, namesrv.BrokerRole.MASTER, 1n, false),
        liveBroker('broker-a', 2n, '127.0.0.1:8083', NOW_MS - 500, namesrv.BrokerRole.SLAVE, 2n),
      ],
    });
    const lines = clusterText(reply, '127.0.0.1:9876', NOW_MS).split('\n');
    expect(lines[0]).toBe('Name server 127.0.0.1:9876: 4 live brokers');
    expect(lines[2]).toMatch(/^CLUSTER\s+BROKER\s+ID\s+ROLE\s+EPOCH\s+ENDPOINT\s+ZONE\s+PERM\s+TOPICS\s+LAST HEARTBEAT$/);
    expect(lines.slice(3).map((line) => line.split(/\s{2,}/))).toEqual([
      ['DefaultCluster', 'broker-a', '0', 'master (stale)', '1', '127.0.0.1:8081', '-', 'RW', '3', '0.5 s ago'],
      ['DefaultCluster', 'broker-a', '1', 'master', '2', '127.0.0.1:8082', '-', 'RW', '3', '2.0 s ago'],
      ['DefaultCluster', 'broker-a', '2', 'slave', '2', '127.0.0.1:8083', '-', 'RW', '3', '0.5 s ago'],
      ['DefaultCluster', 'broker-b', '0', 'master', '1', '127.0.0.1:8091', '-', 'RW', '3', '1.0 s ago'],
    ]);
  });

  it('says how to get a broker when none is registered', () => {
    const text = clusterText(create(namesrv.GetClusterInfoResponseSchema, {}), '127.0.0.1:9876', NOW_MS);
    expect(text).toContain('No brokers are registered with name server 127.0.0.1:9876');
    expect(text).toContain('npm start');
  });
});

describe('topic text', () => {
  it('tells a new topic from one that already existed with the same settings', () => {
    const topic = topicConfig('Orders', 16, namesrv.TopicMessageType.FIFO);
    expect(createdTopicText(create(admin.CreateTopicResponseSchema, { topic, created: true }), '127.0.0.1:8081')).toBe(
      'Created topic Orders on broker 127.0.0.1:8081: 16 queues, fifo messages, perm RW.',
    );
    expect(createdTopicText(create(admin.CreateTopicResponseSchema, { topic, created: false }), '127.0.0.1:8081')).toContain('already exists');
  });

  it('lists topics by name', () => {
    const reply = create(admin.ListTopicsResponseSchema, { topics: [topicConfig('b', 8), topicConfig('a', 4, namesrv.TopicMessageType.DELAY)] });
    expect(topicListText(reply, 'x:1').split('\n').map((line) => line.split(/\s{2,}/))).toEqual([
      ['NAME', 'TYPE', 'QUEUES', 'PERM'],
      ['a', 'delay', '4', 'RW'],
      ['b', 'normal', '8', 'RW'],
    ]);
    expect(topicListText(create(admin.ListTopicsResponseSchema, {}), 'x:1')).toContain('rmq topic create');
  });

  it('shows each queue with its offsets and message count', () => {
    const reply = create(admin.GetTopicResponseSchema, {
      topic: topicConfig('Orders', 2),
      queues: [
        { queueId: 1, minOffset: 0n, maxOffset: 7n },
        { queueId: 0, minOffset: 10n, maxOffset: 25n },
      ],
    });
    const text = topicText(reply);
    expect(text).toContain('Queues  2 read, 2 write');
    expect(text.split('\n').slice(-3).map((line) => line.trim().split(/\s+/))).toEqual([
      ['QUEUE', 'MIN', 'OFFSET', 'MAX', 'OFFSET', 'MESSAGES'],
      ['0', '10', '25', '15'],
      ['1', '0', '7', '7'],
    ]);
  });
});

describe('broker status text and JSON', () => {
  const reply = create(admin.GetBrokerStatusResponseSchema, {
    broker: { clusterName: 'DefaultCluster', brokerName: 'broker-a', brokerId: 0n },
    role: 'master',
    epoch: 3n,
    logEndOffset: 4096n,
    confirmedOffset: 4096n,
    flushMode: 'sync',
    topicCount: 2,
  });

  it('shows identity, role and log positions', () => {
    const text = brokerStatusText(reply, '127.0.0.1:8081');
    expect(text).toContain('broker-a (id 0, cluster DefaultCluster)');
    expect(text).toMatch(/Role\s+master/);
    expect(text).toMatch(/Log end offset\s+4096/);
  });

  it('shows a master\'s in-sync set and each slave\'s lag, and the master a slave follows', () => {
    const master = create(admin.GetBrokerStatusResponseSchema, {
      role: 'master', committedOffset: 4000n, inSyncReplicas: 2,
      slaves: [{ replicaId: '1', ackedOffset: 4000n, inSync: true, lagBytes: 96n, lagMs: 12n }, { replicaId: '2', ackedOffset: 100n, inSync: false, lagBytes: 3996n, lagMs: 9000n }],
    });
    const text = brokerStatusText(master, '127.0.0.1:8081');
    expect(text).toMatch(/^Committed offset\s+4000$/m);
    expect(text).toMatch(/^In-sync replicas\s+2 \(itself included\)$/m);
    expect(text).toMatch(/^SLAVE\s+IN SYNC\s+ACKED OFFSET\s+LAG BYTES\s+LAG MS$/m);
    expect(text).toMatch(/^2\s+no\s+100\s+3996\s+9000$/m);
    const slave = brokerStatusText(create(admin.GetBrokerStatusResponseSchema, { role: 'slave', masterEndpoint: '127.0.0.1:8081', following: true, lagBytes: 5n }), '127.0.0.1:8091');
    expect(slave).toMatch(/^Master\s+127.0.0.1:8081$/m);
    expect(slave).toMatch(/^Following\s+yes, 5 bytes behind$/m);
  });

  it('prints JSON with every field, int64 as strings (proto3 JSON), so scripts need no defaults', () => {
    const json = JSON.parse(jsonText(admin.GetBrokerStatusResponseSchema, create(admin.GetBrokerStatusResponseSchema, { role: 'slave', epoch: 9n })));
    expect(json).toEqual({
      role: 'slave', epoch: '9', logEndOffset: '0', confirmedOffset: '0', flushMode: '', topicCount: 0, brokerPerm: 0,
      durableOffset: '0', committedOffset: '0', inSyncReplicas: 0, slaves: [], masterEndpoint: '', following: false, lagBytes: '0',
    });
  });
});
