// Every bound of the controller, with its unit and why it is what it is.

/** Broker groups one controller tracks; the whole state is rewritten on every change, so keep it small. */
export const GROUPS_MAX = 1_024;

/** Replicas per broker group; RocketMQ deployments run 2 or 3, 16 leaves room for migrations. */
export const REPLICAS_PER_GROUP_MAX = 16;

/** Length of broker names, cluster names, replica ids and endpoints, in characters. */
export const NAME_LENGTH_MAX = 255;

/** How long in-flight calls may finish during shutdown before they are cut. */
export const GRPC_SHUTDOWN_GRACE_MS = 2_000;
