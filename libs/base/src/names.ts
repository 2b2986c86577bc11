// Resource name rules shared by broker, name server, CLI and SDK (RocketMQ's TopicValidator).

const NAME_PATTERN = /^[%|a-zA-Z0-9_-]+$/;
export const TOPIC_NAME_LENGTH_MAX = 127;
export const GROUP_NAME_LENGTH_MAX = 120;

/**
 * The broker's own topics (scheduled delay messages, transaction halves and outcomes) start with
 * this (RocketMQ's prefix for system topics); no user topic or group may, so they never collide.
 */
export const SYSTEM_TOPIC_PREFIX = 'rmq_sys_';

/** Returns why `name` is not a valid topic or group name, or undefined when it is. */
export function nameProblem(name: string, lengthMax: number): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (name.length > lengthMax) return `the name is ${name.length} characters; the limit is ${lengthMax}`;
  if (!NAME_PATTERN.test(name)) return 'only letters, digits, %, |, _ and - are allowed';
  if (isSystemTopic(name)) return `names starting with ${SYSTEM_TOPIC_PREFIX} are reserved for the broker's system topics`;
  return undefined;
}

export function isSystemTopic(name: string): boolean {
  return name.slice(0, SYSTEM_TOPIC_PREFIX.length).toLowerCase() === SYSTEM_TOPIC_PREFIX;
}

export const RETRY_TOPIC_PREFIX = '%RETRY%';
export const DLQ_TOPIC_PREFIX = '%DLQ%';

export function retryTopicOf(group: string): string {
  return RETRY_TOPIC_PREFIX + group;
}

export function deadLetterTopicOf(group: string): string {
  return DLQ_TOPIC_PREFIX + group;
}
