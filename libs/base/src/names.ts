// Resource name rules shared by broker, name server, CLI and SDK (RocketMQ's TopicValidator).

const NAME_PATTERN = /^[%|a-zA-Z0-9_-]+$/;
export const TOPIC_NAME_LENGTH_MAX = 127;
/**
 * Topics one broker may hold: the name server refuses a registration listing more (the whole
 * table is resent on every heartbeat), so the broker refuses to create more.
 */
export const TOPIC_COUNT_PER_BROKER_MAX = 65_536;
export const GROUP_NAME_LENGTH_MAX = 120;

/** Returns why `name` is not a valid topic or group name, or undefined when it is. */
export function nameProblem(name: string, lengthMax: number): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (name.length > lengthMax) return `the name is ${name.length} characters; the limit is ${lengthMax}`;
  if (!NAME_PATTERN.test(name)) return 'only letters, digits, %, |, _ and - are allowed';
  return undefined;
}

export const RETRY_TOPIC_PREFIX = '%RETRY%';
export const DLQ_TOPIC_PREFIX = '%DLQ%';

export function retryTopicOf(group: string): string {
  return RETRY_TOPIC_PREFIX + group;
}

export function deadLetterTopicOf(group: string): string {
  return DLQ_TOPIC_PREFIX + group;
}

/** Topics the broker writes for itself (state records); never created, routed or listed as user topics. */
export const SYSTEM_TOPIC_PREFIX = '%SYS%';
/** Where the broker's own state (topics, groups, consumer progress ...) is journaled in the commit log. */
export const STATE_TOPIC = `${SYSTEM_TOPIC_PREFIX}STATE`;

export function isSystemTopic(name: string): boolean {
  return name.startsWith(SYSTEM_TOPIC_PREFIX);
}
