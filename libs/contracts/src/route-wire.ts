// A route entry as apache.rocketmq.v2.MessageQueue, for every server that answers QueryRoute or
// QueryAssignment (the name server and the brokers). Takes routing's RouteQueue by shape, so
// contracts stays free of domain imports.
import { create } from '@bufbuild/protobuf';
import { AddressScheme, MessageQueueSchema, MessageType, Permission, type MessageQueue } from './gen/apache/rocketmq/v2/definition_pb';

export interface RouteQueueShape {
  brokerName: string;
  routeBrokerId: number;
  /** host:port */
  endpoint: string;
  queueId: number;
  /** RocketMQ permission bits: READ 4, WRITE 2. */
  perm: number;
  messageType: 'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION';
}

const PERM_READ = 4;
const PERM_WRITE = 2;

const MESSAGE_TYPES: Record<RouteQueueShape['messageType'], MessageType> = {
  NORMAL: MessageType.NORMAL,
  FIFO: MessageType.FIFO,
  DELAY: MessageType.DELAY,
  TRANSACTION: MessageType.TRANSACTION,
};

export function messageQueueToWire(topic: string, namespace: string, queue: RouteQueueShape): MessageQueue {
  const at = queue.endpoint.lastIndexOf(':');
  const host = queue.endpoint.slice(0, at);
  const port = Number(queue.endpoint.slice(at + 1));
  const readable = (queue.perm & PERM_READ) !== 0;
  const writable = (queue.perm & PERM_WRITE) !== 0;
  return create(MessageQueueSchema, {
    topic: { name: topic, resourceNamespace: namespace },
    id: queue.queueId,
    permission: readable && writable ? Permission.READ_WRITE : readable ? Permission.READ : writable ? Permission.WRITE : Permission.NONE,
    broker: {
      name: queue.brokerName,
      id: queue.routeBrokerId,
      endpoints: { scheme: /^\d+\.\d+\.\d+\.\d+$/.test(host) ? AddressScheme.IPv4 : AddressScheme.DOMAIN_NAME, addresses: [{ host, port }] },
    },
    acceptMessageTypes: [MESSAGE_TYPES[queue.messageType]],
  });
}
