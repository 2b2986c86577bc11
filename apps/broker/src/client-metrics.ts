// Clients connected to this broker, as RocketMQ 5 counts them: rocketmq_producer_connections
// {language, version} and rocketmq_consumer_connections {consumer_group, language, version,
// consume_mode}. A client counts from its Telemetry settings until its stream closes; the
// counts are kept as the clients come and go (no walk at scrape time).
import { Gauge, type Registry } from 'prom-client';
import { v2 } from '@rmq/contracts';

export interface ClientMetrics {
  connected(clientId: string, settings: v2.Settings): void;
  closed(clientId: string): void;
}

interface Connection {
  gauge: Gauge;
  labels: Record<string, string>;
}

export function createClientMetrics(registry: Registry): ClientMetrics {
  const producers = new Gauge({ name: 'rocketmq_producer_connections', help: 'producers connected (Telemetry stream open)', labelNames: ['language', 'version'], registers: [registry] });
  const consumers = new Gauge({
    name: 'rocketmq_consumer_connections',
    help: 'consumers connected (Telemetry stream open)',
    labelNames: ['consumer_group', 'language', 'version', 'consume_mode'],
    registers: [registry],
  });
  const open = new Map<string, Connection>();
  const closed = (clientId: string) => {
    const connection = open.get(clientId);
    if (!connection) return;
    open.delete(clientId);
    connection.gauge.dec(connection.labels);
  };
  return {
    connected(clientId, settings) {
      if (!clientId) return;
      const agent = { language: v2.Language[settings.userAgent?.language ?? 0]?.toLowerCase() ?? 'unknown', version: settings.userAgent?.version ?? '' };
      let connection: Connection | undefined;
      if (settings.clientType === v2.ClientType.PRODUCER) connection = { gauge: producers, labels: agent };
      else if (settings.pubSub.case === 'subscription') {
        const consumeMode = settings.clientType === v2.ClientType.PUSH_CONSUMER ? 'push' : 'pop';
        connection = { gauge: consumers, labels: { consumer_group: settings.pubSub.value.group?.name ?? '', ...agent, consume_mode: consumeMode } };
      }
      if (!connection) return;
      closed(clientId); // settings sent again: count the client once
      open.set(clientId, connection);
      connection.gauge.inc(connection.labels);
    },
    closed,
  };
}
