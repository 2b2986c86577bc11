// Validation of what a broker sends: each function returns why the input is not acceptable,
// or undefined when it is, so callers choose the error to raise.
import { nameProblem, TOPIC_NAME_LENGTH_MAX } from '@rmq/base';
import type { BrokerIdentity, BrokerRegistration, TopicConfig } from './broker-registration';
import { NAME_LENGTH_MAX, PERM_BITS_MAX, QUEUE_COUNT_MAX, TOPIC_COUNT_PER_BROKER_MAX } from './limits';

const ENDPOINT_PATTERN = /^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/;

export function identityProblem(identity: BrokerIdentity): string | undefined {
  return (
    labelProblem('cluster name', identity.clusterName) ??
    labelProblem('broker name', identity.brokerName) ??
    (Number.isSafeInteger(identity.brokerId) && identity.brokerId >= 0
      ? undefined
      : `broker id must be a whole number of at least 0, got ${identity.brokerId}`)
  );
}

/** Returns why `endpoint` is not host:port with a port in 1..65535, or undefined. */
export function endpointProblem(endpoint: string): string | undefined {
  const match = ENDPOINT_PATTERN.exec(endpoint);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65_535) return `endpoint must look like host:port, got "${endpoint}"`;
  return undefined;
}

export function registrationProblem(registration: BrokerRegistration): string | undefined {
  const problem =
    identityProblem(registration.identity) ??
    endpointProblem(registration.endpoint) ??
    (registration.zone.length > NAME_LENGTH_MAX ? `zone is longer than ${NAME_LENGTH_MAX} characters` : undefined) ??
    permProblem('broker perm', registration.brokerPerm) ??
    (registration.role === 'master' || registration.role === 'slave' ? undefined : `role must be master or slave, got "${String(registration.role)}"`) ??
    (Number.isSafeInteger(registration.epoch) && registration.epoch >= 0 ? undefined : `epoch must be a whole number of at least 0, got ${registration.epoch}`) ??
    (registration.topics.length > TOPIC_COUNT_PER_BROKER_MAX
      ? `broker lists ${registration.topics.length} topics; the limit is ${TOPIC_COUNT_PER_BROKER_MAX}`
      : undefined);
  if (problem) return problem;
  const seen = new Set<string>();
  for (const [index, topic] of registration.topics.entries()) {
    const problemOfTopic = topicProblem(topic);
    if (problemOfTopic) return `topic #${index} ("${topic.name}"): ${problemOfTopic}`;
    if (seen.has(topic.name)) return `topic "${topic.name}" is listed twice`;
    seen.add(topic.name);
  }
  return undefined;
}

function topicProblem(topic: TopicConfig): string | undefined {
  return (
    nameProblem(topic.name, TOPIC_NAME_LENGTH_MAX) ??
    countProblem('read queue count', topic.readQueueCount) ??
    countProblem('write queue count', topic.writeQueueCount) ??
    permProblem('perm', topic.perm)
  );
}

function labelProblem(what: string, value: string): string | undefined {
  if (value.length === 0) return `${what} is empty`;
  if (value.length > NAME_LENGTH_MAX) return `${what} is ${value.length} characters; the limit is ${NAME_LENGTH_MAX}`;
  if (/\s/.test(value)) return `${what} "${value}" contains white space`;
  return undefined;
}

function countProblem(what: string, count: number): string | undefined {
  return Number.isInteger(count) && count >= 0 && count <= QUEUE_COUNT_MAX
    ? undefined
    : `${what} must be a whole number in 0..${QUEUE_COUNT_MAX}, got ${count}`;
}

function permProblem(what: string, perm: number): string | undefined {
  return Number.isInteger(perm) && perm >= 0 && perm <= PERM_BITS_MAX
    ? undefined
    : `${what} must be a combination of READ 4 and WRITE 2 (bits up to ${PERM_BITS_MAX}), got ${perm}`;
}
