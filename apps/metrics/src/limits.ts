// Every bound of the metrics poller, with its unit and why it is what it is.

/** Brokers polled per round; a bigger cluster should run one metrics app per cluster. */
export const BROKERS_POLLED_MAX = 256;

/** Topics whose queues are read per broker and round; beyond this the topic list is cut (and logged). */
export const TOPICS_PER_BROKER_POLLED_MAX = 4_096;

/** Consumer groups whose progress is read per broker and round; beyond this the group list is cut (and logged). */
export const GROUPS_PER_BROKER_POLLED_MAX = 1_024;

/** GetTopic calls in flight per broker, so a poll does not flood a broker that is busy serving clients. */
export const GET_TOPIC_CONCURRENCY_MAX = 8;
