// Builders of RegisterBrokerRequest bodies for tests of the name server and its clients.
import type { DescMessage, MessageInitShape } from '@bufbuild/protobuf';
import { namesrv } from '@rmq/contracts';

/** The plain-object form of a message's init shape (not an already built message). */
type Init<D extends DescMessage> = Exclude<MessageInitShape<D>, { $typeName: string }>;
export type RegistrationBody = Init<typeof namesrv.RegisterBrokerRequestSchema>;

export const READ_WRITE = 6;

export function topicInit(name: string, queueCount = 4): Init<typeof namesrv.TopicConfigSchema> {
  return { name, readQueueCount: queueCount, writeQueueCount: queueCount, perm: READ_WRITE, messageType: namesrv.TopicMessageType.NORMAL };
}

export function registrationInit(brokerName: string, overrides: RegistrationBody = {}): RegistrationBody {
  return {
    broker: { clusterName: 'DefaultCluster', brokerName, brokerId: 0n },
    endpoint: '127.0.0.1:10911',
    zone: 'zone-a',
    brokerPerm: READ_WRITE,
    topics: [topicInit(`${brokerName}-topic`)],
    leaseMs: 60_000n,
    ...overrides,
  };
}
