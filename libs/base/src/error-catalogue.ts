// Every error a caller can see, declared once. A code never changes once shipped; texts are
// templates whose {placeholders} are filled from the error's params.

export type ErrorKind =
  | 'badRequest'
  | 'notFound'
  | 'conflict'
  | 'failedPrecondition'
  | 'resourceExhausted'
  | 'tooManyRequests'
  | 'unauthenticated'
  | 'permissionDenied'
  | 'unavailable'
  | 'unimplemented'
  | 'internal';

export const ERRORS = {
  BAD_REQUEST: { kind: 'badRequest', text: '{reason}' },
  ILLEGAL_TOPIC: { kind: 'badRequest', text: 'topic name {topic} is not valid: {reason}' },
  ILLEGAL_CONSUMER_GROUP: { kind: 'badRequest', text: 'consumer group name {group} is not valid: {reason}' },
  ILLEGAL_MESSAGE_TAG: { kind: 'badRequest', text: 'message tag {tag} is not valid: {reason}' },
  ILLEGAL_MESSAGE_KEY: { kind: 'badRequest', text: 'message key {key} is not valid: {reason}' },
  ILLEGAL_MESSAGE_GROUP: { kind: 'badRequest', text: 'message group {group} is not valid: {reason}' },
  ILLEGAL_MESSAGE_PROPERTY: { kind: 'badRequest', text: 'message property {key} is not valid: {reason}' },
  ILLEGAL_MESSAGE_TYPE: {
    kind: 'badRequest',
    text: 'topic {topic} accepts {accepted} messages ({shape}), but this message is {actual}',
  },
  ILLEGAL_INVISIBLE_TIME: {
    kind: 'badRequest',
    text: 'invisible duration {durationMs} ms is out of range [{minMs}, {maxMs}] ms',
  },
  ILLEGAL_POLLING_TIME: {
    kind: 'badRequest',
    text: 'long polling timeout {durationMs} ms is out of range [{minMs}, {maxMs}] ms',
  },
  ILLEGAL_FILTER_EXPRESSION: { kind: 'badRequest', text: 'filter expression {expression} is not valid: {reason}' },
  INVALID_RECEIPT_HANDLE: { kind: 'badRequest', text: 'receipt handle is not valid: {reason}' },
  ILLEGAL_DELIVERY_TIME: { kind: 'badRequest', text: 'delivery time {deliverAt} is {delayMs} ms away; the limit is {delayMsMax} ms (--timer-delay-max-ms)' },
  INVALID_RECALL_HANDLE: { kind: 'badRequest', text: 'recall handle is not valid: {reason}' },
  UNKNOWN_BROKER_GROUP: { kind: 'notFound', text: 'broker group {brokerName} named by the {what} is not known to this name server: no broker of it has registered' },
  ALREADY_DELIVERED: { kind: 'conflict', text: 'message {messageId} of topic {topic} was already delivered (due at {deliverAt}); it can no longer be recalled' },
  ILLEGAL_OFFSET: { kind: 'badRequest', text: 'offset {offset} of {topic} queue {queueId} is out of range: {reason}' },
  OFFSET_NOT_FOUND: { kind: 'notFound', text: 'consumer group {group} has committed no offset for {topic} queue {queueId}' },
  INVALID_TRANSACTION_ID: { kind: 'badRequest', text: 'transaction id is not valid: {reason}' },
  TRANSACTION_ENDED: { kind: 'conflict', text: 'transaction {transactionId} of message {messageId} has already ended ({outcome})' },
  BODY_EMPTY: { kind: 'badRequest', text: 'message body is empty' },
  BODY_TOO_LARGE: {
    kind: 'resourceExhausted',
    text: 'message body is {sizeBytes} bytes; the limit is {sizeBytesMax}',
  },
  PROPERTIES_TOO_LARGE: {
    kind: 'resourceExhausted',
    text: 'message properties take {sizeBytes} bytes; the limit is {sizeBytesMax}',
  },
  TOPIC_NOT_FOUND: {
    kind: 'notFound',
    text: 'topic {topic} does not exist; create it with `rmq topic create {topic}`',
  },
  CONSUMER_GROUP_NOT_FOUND: { kind: 'notFound', text: 'consumer group {group} does not exist' },
  NOT_FOUND: { kind: 'notFound', text: '{what} {name} does not exist' },
  TOPIC_EXISTS: {
    kind: 'conflict',
    text: 'topic {topic} already exists with different settings ({existing})',
  },
  NOT_MASTER: {
    kind: 'unavailable',
    text: 'broker {brokerName} is a slave in epoch {epoch}; send to the master',
  },
  NO_MASTER: {
    kind: 'unavailable',
    text: 'broker group {brokerName} has no reachable master ({reason}); waited {waitedMs} ms, retry shortly',
  },
  ROLE_SET_BY_CONTROLLER: {
    kind: 'failedPrecondition',
    text: 'this broker takes its role and epoch from the controller; change them there, not by hand',
  },
  NOT_A_BROKER: {
    kind: 'unimplemented',
    text: '{method} goes to a broker named in the route; this name server answers QueryRoute only',
  },
  NOT_LEADER: {
    kind: 'unavailable',
    text: 'controller {controllerId} does not lead the controllers; {hint}',
  },
  FENCED: { kind: 'conflict', text: 'refused: {reason}' },
  CONTROLLER_STORE_UNAVAILABLE: { kind: 'unavailable', text: 'the controller could not commit to its state store: {reason}' },
  BROKER_PERMISSION: { kind: 'unavailable', text: 'broker {brokerName} does not {action} now (its permission is {perm}); {hint}' },
  STORE_FULL: { kind: 'resourceExhausted', text: 'the disk is full ({reason}); writes are refused until space is freed' },
  STORE_CLOSED: { kind: 'unavailable', text: 'the store is shutting down' },
  STORE_UNAVAILABLE: { kind: 'unavailable', text: 'the store cannot write now ({reason}); it retries and accepts writes again once the cause is gone' },
  STORE_DAMAGED: {
    kind: 'internal',
    text: 'commit log segment {segment} is damaged at log offset {logOffset} ({reason}), below the checkpoint at {checkpointLogOffset}: the data there was acknowledged, so the store refuses to cut it off; {action}',
  },
  TOO_MANY_REQUESTS: { kind: 'tooManyRequests', text: '{reason}' },
  IN_SYNC_REPLICAS_TOO_FEW: {
    kind: 'unavailable',
    text: 'broker {brokerName} has {inSync} in-sync replicas (itself included) and needs {minInSync} (--min-in-sync-replicas) to accept sends; try again once a slave has caught up',
  },
  UNAUTHORIZED: { kind: 'unauthenticated', text: 'not authenticated: {reason}' },
  FORBIDDEN: { kind: 'permissionDenied', text: 'user {user} may not {action} {resource}' },
  UNSUPPORTED: { kind: 'unimplemented', text: '{feature}: not supported by this broker yet' },
  NO_ROUTE: { kind: 'unavailable', text: 'no live broker serves topic {topic}' },
  INTERNAL: { kind: 'internal', text: 'internal error {errorId}; the broker log has the details' },
  STATE_UNREADABLE: { kind: 'internal', text: 'the broker state in the commit log cannot be read: {reason}' },
  CONSUMER_GROUP_EXISTS: { kind: 'conflict', text: 'consumer group {group} already exists; update it instead' },
} as const satisfies Record<string, { kind: ErrorKind; text: string }>;

export type ErrorCode = keyof typeof ERRORS;
