// Zone-aware routing: brokers carry a zone label; a client of ours that declares its zone sends
// to that zone's brokers while one is writable, and falls back to the others when none is.
import * as grpc from '@grpc/grpc-js';
import { createClient, v2 } from '@rmq/contracts';
import { killAllApps, startTwoBrokerCluster, type TwoBrokerCluster } from '@rmq/testing';
import { Producer, ZONE_HEADER } from '../src';

describe('zone-aware routing', () => {
  let cluster: TwoBrokerCluster;

  beforeAll(async () => {
    cluster = await startTwoBrokerCluster([], { 'broker-a': ['--zone', 'zone-1'], 'broker-b': ['--zone', 'zone-2'] });
    await cluster.createTopic('ZoneTopic');
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    await killAllApps();
  });

  it('offers other zones\' brokers for reading only to a client that declares a zone with a writable broker', async () => {
    const client = createClient(v2.MessagingService, cluster.endpoints['broker-a']);
    const permissions = async (zone?: string) => {
      const metadata = new grpc.Metadata();
      if (zone) metadata.set(ZONE_HEADER, zone);
      const route = await client.queryRoute({ topic: { name: 'ZoneTopic' } }, { metadata, deadlineMs: 5_000 });
      return Object.fromEntries(route.messageQueues.map((queue) => [queue.broker?.name, v2.Permission[queue.permission]]));
    };
    try {
      expect(await permissions('zone-2')).toEqual({ 'broker-a': 'READ', 'broker-b': 'READ_WRITE' });
      expect(await permissions('zone-1')).toEqual({ 'broker-a': 'READ_WRITE', 'broker-b': 'READ' });
      expect(await permissions('zone-9')).toEqual({ 'broker-a': 'READ_WRITE', 'broker-b': 'READ_WRITE' });
      expect(await permissions()).toEqual({ 'broker-a': 'READ_WRITE', 'broker-b': 'READ_WRITE' });
    } finally {
      client.close();
    }
  });

  it('sends within the producer\'s zone, and to the other zone once its own broker is gone', async () => {
    const inZone2 = Producer.start({ endpoints: cluster.endpoints['broker-a'], zone: 'zone-2' });
    const anywhere = Producer.start({ endpoints: cluster.endpoints['broker-a'] });
    try {
      const zoned = await Promise.all(Array.from({ length: 20 }, (_, i) => inZone2.send({ topic: 'ZoneTopic', body: `z-${i}` })));
      expect(new Set(zoned.map((receipt) => receipt.brokerName))).toEqual(new Set(['broker-b']));
      const spread = await Promise.all(Array.from({ length: 20 }, (_, i) => anywhere.send({ topic: 'ZoneTopic', body: `a-${i}` })));
      expect(new Set(spread.map((receipt) => receipt.brokerName))).toEqual(new Set(['broker-a', 'broker-b']));

      await cluster.brokers['broker-b'].kill('SIGKILL');
      const fallback = [];
      for (let i = 0; i < 10; i++) fallback.push(await inZone2.send({ topic: 'ZoneTopic', body: `f-${i}` }));
      expect(new Set(fallback.map((receipt) => receipt.brokerName))).toEqual(new Set(['broker-a']));
    } finally {
      await inZone2.close();
      await anywhere.close();
    }
  }, 30_000);
});
