// A route entry as apache.rocketmq.v2.MessageQueue, for every server that answers QueryRoute or
// QueryAssignment (the name server and the brokers), and a topic's message type on the name
// server's wire. Takes routing's RouteQueue and TopicMessageType by shape, so contracts stays
// free of domain imports.
import { create } from '@bufbuild/protobuf';
import { AddressScheme, MessageQueueSchema, MessageType, Permission, type MessageQueue } from './gen/apache/rocketmq/v2/definition_pb';
import { TopicMessageType } from './gen/rmq/namesrv/v1/namesrv_pb';

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

const TOPIC_MESSAGE_TYPES_FROM_WIRE: Record<TopicMessageType, RouteQueueShape['messageType']> = {
  // RocketMQ treats a topic without a declared type as a normal one.
  [TopicMessageType.UNSPECIFIED]: 'NORMAL',
  [TopicMessageType.NORMAL]: 'NORMAL',
  [TopicMessageType.FIFO]: 'FIFO',
  [TopicMessageType.DELAY]: 'DELAY',
  [TopicMessageType.TRANSACTION]: 'TRANSACTION',
};

const TOPIC_MESSAGE_TYPES_TO_WIRE: Record<RouteQueueShape['messageType'], TopicMessageType> = {
  NORMAL: TopicMessageType.NORMAL,
  FIFO: TopicMessageType.FIFO,
  DELAY: TopicMessageType.DELAY,
  TRANSACTION: TopicMessageType.TRANSACTION,
};

/** A topic's message type as the name server's wire has it: UNSPECIFIED is NORMAL, a value this build does not know undefined. */
export function topicMessageTypeFromWire(type: TopicMessageType): RouteQueueShape['messageType'] | undefined {
  return Object.hasOwn(TOPIC_MESSAGE_TYPES_FROM_WIRE, type) ? TOPIC_MESSAGE_TYPES_FROM_WIRE[type] : undefined;
}

export function topicMessageTypeToWire(type: RouteQueueShape['messageType']): TopicMessageType {
  return TOPIC_MESSAGE_TYPES_TO_WIRE[type];
}
