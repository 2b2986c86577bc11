// Between the wire's apache.rocketmq.v2.Message and the messaging layer's domain messages.
// Validation of what only the wire can get wrong (missing fields, unknown enums) happens here;
// business rules (sizes, names, types) are checked by the messaging layer.
import { DELIVERED_MESSAGE, deliveredMessageEncodable, durationFromMs, durationMs, okStatus, timestampFromMs, timestampMs, v2, type DeliveredMessage } from '@rmq/contracts';
import { RmqError } from '@rmq/base';
import { fromStoredRecord, storedBodyMd5Hex, SYSTEM_PROPERTY, USER_PROPERTY_PREFIX, type BodyEncoding, type IncomingMessage, type MessageType, type OutgoingMessage } from '@rmq/messaging';
import type { StoredRecord } from '@rmq/store';

const MESSAGE_TYPE_FROM_WIRE: Partial<Record<v2.MessageType, MessageType>> = {
  [v2.MessageType.NORMAL]: 'NORMAL',
  [v2.MessageType.FIFO]: 'FIFO',
  [v2.MessageType.DELAY]: 'DELAY',
  [v2.MessageType.TRANSACTION]: 'TRANSACTION',
};

export const MESSAGE_TYPE_TO_WIRE: Record<MessageType, v2.MessageType> = {
  NORMAL: v2.MessageType.NORMAL,
  FIFO: v2.MessageType.FIFO,
  DELAY: v2.MessageType.DELAY,
  TRANSACTION: v2.MessageType.TRANSACTION,
};

export function fromWireMessage(message: v2.Message): OutgoingMessage {
  const system = message.systemProperties;
  if (!system) throw new RmqError('BAD_REQUEST', { reason: 'the message has no system properties' });
  if (!system.messageId) throw new RmqError('BAD_REQUEST', { reason: 'the message has no message id' });
  const bodyEncoding = bodyEncodingFromWire(system.bodyEncoding, message.body);
  let messageType = MESSAGE_TYPE_FROM_WIRE[system.messageType];
  if (system.messageType === v2.MessageType.MESSAGE_TYPE_UNSPECIFIED) messageType = system.messageGroup ? 'FIFO' : system.deliveryTimestamp ? 'DELAY' : 'NORMAL';
  if (!messageType) throw new RmqError('UNSUPPORTED', { feature: `message type ${v2.MessageType[system.messageType] ?? system.messageType}` });
  if (system.deliveryTimestamp && messageType !== 'DELAY') messageType = 'DELAY';
  const deliveryTimestampMs = system.deliveryTimestamp ? timestampMs(system.deliveryTimestamp) : undefined;
  if (deliveryTimestampMs !== undefined && (!Number.isSafeInteger(deliveryTimestampMs) || deliveryTimestampMs < 0)) {
    throw new RmqError('BAD_REQUEST', { reason: `the delivery timestamp (${deliveryTimestampMs} ms since 1970) is out of range` });
  }
  const bornTimestampMs = system.bornTimestamp ? timestampMs(system.bornTimestamp) : Date.now();
  if (!Number.isSafeInteger(bornTimestampMs) || bornTimestampMs < 0) {
    throw new RmqError('BAD_REQUEST', { reason: `the born timestamp (${bornTimestampMs} ms since 1970) is out of range` });
  }
  return {
    topic: message.topic?.name ?? '',
    body: message.body,
    messageId: system.messageId,
    messageType,
    tag: system.tag,
    keys: system.keys,
    messageGroup: system.messageGroup,
    bornTimestampMs,
    bornHost: system.bornHost,
    traceContext: system.traceContext,
    bodyEncoding,
    deliveryTimestampMs,
    orphanedRecoveryMs: system.orphanedTransactionRecoveryDuration ? durationMs(system.orphanedTransactionRecoveryDuration) : undefined,
    userProperties: userPropertiesFromWire(message.userProperties),
  };
}

const NO_USER_PROPERTIES: ReadonlyMap<string, string> = new Map();

/** Most messages have none: then one shared empty Map, not an entries array and a Map per message. */
function userPropertiesFromWire(properties: Record<string, string>): ReadonlyMap<string, string> {
  let map: Map<string, string> | undefined;
  for (const key of Object.keys(properties)) (map ??= new Map()).set(key, properties[key]);
  return map ?? NO_USER_PROPERTIES;
}

/**
 * GZIP bodies are stored and delivered as sent (the digest covers the compressed bytes, as the
 * clients check it before they gunzip); a body without gzip's magic bytes would make every
 * consumer's receive fail, so it is refused here.
 */
function bodyEncodingFromWire(encoding: v2.Encoding, body: Uint8Array): BodyEncoding {
  if (encoding === v2.Encoding.IDENTITY || encoding === v2.Encoding.ENCODING_UNSPECIFIED) return 'IDENTITY';
  if (encoding !== v2.Encoding.GZIP) throw new RmqError('BAD_REQUEST', { reason: `body encoding ${encoding} is unknown; use IDENTITY (1) or GZIP (2)` });
  if (body.byteLength > 0 && (body.byteLength < 18 || body[0] !== 0x1f || body[1] !== 0x8b)) {
    throw new RmqError('BAD_REQUEST', { reason: 'the body is marked GZIP but is not gzip data (it does not start with the bytes 1f 8b)' });
  }
  return 'GZIP';
}

export interface DeliveryFields {
  receiptHandle: string;
  deliveryAttempt: number;
  invisibleMs: number;
  storeHost: string;
}

/**
 * A delivered message as the wire object, built as a literal (what create() makes, without its
 * reflection: this runs for every delivery); the hot-path codec encodes it in one pass.
 */
export function toWireMessage(message: IncomingMessage, delivery: DeliveryFields, namespace: string): v2.Message {
  const systemProperties: v2.SystemProperties = {
    $typeName: 'apache.rocketmq.v2.SystemProperties',
    keys: message.keys,
    messageId: message.messageId,
    bodyDigest: { $typeName: 'apache.rocketmq.v2.Digest', type: v2.DigestType.MD5, checksum: message.bodyMd5Hex },
    bodyEncoding: message.bodyEncoding === 'GZIP' ? v2.Encoding.GZIP : v2.Encoding.IDENTITY,
    messageType: MESSAGE_TYPE_TO_WIRE[message.messageType],
    bornTimestamp: timestampFromMs(message.bornTimestampMs),
    bornHost: message.bornHost,
    storeTimestamp: timestampFromMs(message.storeTimestampMs),
    storeHost: delivery.storeHost,
    receiptHandle: delivery.receiptHandle,
    queueId: message.queueId,
    queueOffset: BigInt(message.queueOffset),
    invisibleDuration: durationFromMs(delivery.invisibleMs),
    deliveryAttempt: delivery.deliveryAttempt,
  };
  // Optional fields are absent, not undefined, when the message has none (as create() leaves them).
  if (message.tag !== undefined) systemProperties.tag = message.tag;
  if (message.messageGroup !== undefined) systemProperties.messageGroup = message.messageGroup;
  if (message.traceContext !== undefined) systemProperties.traceContext = message.traceContext;
  if (message.deliveryTimestampMs !== undefined) systemProperties.deliveryTimestamp = timestampFromMs(message.deliveryTimestampMs);
  const userProperties: Record<string, string> = {};
  for (const [key, value] of message.userProperties) userProperties[key] = value;
  return {
    $typeName: 'apache.rocketmq.v2.Message',
    topic: { $typeName: 'apache.rocketmq.v2.Resource', name: message.topic, resourceNamespace: namespace },
    userProperties,
    systemProperties,
    body: message.body,
  };
}

const NO_KEYS: readonly string[] = [];

/**
 * A ReceiveMessage frame for a delivery, straight from the stored record: flat fields that
 * grpc-js's serializer encodes in one pass (contracts' delivered-message.ts), with the same bytes
 * as messageFrame(toWireMessage(fromStoredRecord(record), ...)), which stays the path for values
 * the fast encoder does not cover.
 */
export function deliveryFrame(record: StoredRecord, delivery: DeliveryFields, namespace: string): v2.ReceiveMessageResponse | DeliveredMessage {
  const properties = record.properties;
  const keys = properties.get(SYSTEM_PROPERTY.keys);
  const deliverAt = properties.get(SYSTEM_PROPERTY.deliveryTimestampMs);
  const frame: DeliveredMessage = {
    $typeName: DELIVERED_MESSAGE,
    topic: record.topic,
    namespace,
    properties,
    userPropertyPrefix: USER_PROPERTY_PREFIX,
    tag: properties.get(SYSTEM_PROPERTY.tag),
    keys: keys ? (JSON.parse(keys) as string[]) : NO_KEYS,
    messageId: properties.get(SYSTEM_PROPERTY.messageId) ?? '',
    bodyMd5Hex: storedBodyMd5Hex(record),
    bodyEncoding: properties.get(SYSTEM_PROPERTY.bodyEncoding) === 'GZIP' ? v2.Encoding.GZIP : v2.Encoding.IDENTITY,
    messageType: MESSAGE_TYPE_TO_WIRE[(properties.get(SYSTEM_PROPERTY.messageType) ?? 'NORMAL') as MessageType] ?? 0,
    bornTimestampMs: record.bornTimestampMs,
    bornHost: properties.get(SYSTEM_PROPERTY.bornHost) ?? '',
    storeTimestampMs: record.storeTimestampMs,
    storeHost: delivery.storeHost,
    deliveryTimestampMs: deliverAt === undefined ? undefined : Number(deliverAt),
    receiptHandle: delivery.receiptHandle,
    queueId: record.queueId,
    queueOffset: record.queueOffset,
    invisibleMs: delivery.invisibleMs,
    deliveryAttempt: delivery.deliveryAttempt,
    messageGroup: properties.get(SYSTEM_PROPERTY.messageGroup),
    traceContext: properties.get(SYSTEM_PROPERTY.traceContext),
    body: record.body,
  };
  return deliveredMessageEncodable(frame) ? frame : messageFrame(toWireMessage(fromStoredRecord(record), delivery, namespace));
}

/** One ReceiveMessage frame carrying a message. */
export function messageFrame(message: v2.Message): v2.ReceiveMessageResponse {
  return { $typeName: 'apache.rocketmq.v2.ReceiveMessageResponse', content: { case: 'message', value: message } };
}

/** Every OK entry's status (sent, acked): one object, read only by the reply's encoder. */
const ENTRY_OK: v2.Status = Object.freeze(okStatus()) as v2.Status;

/** A SendMessage result entry as a complete message (create() then takes it as is). */
export function sendResultEntry(messageId: string, queueOffset: number, extra: { transactionId?: string; recallHandle?: string } = {}): v2.SendResultEntry {
  return {
    $typeName: 'apache.rocketmq.v2.SendResultEntry', status: ENTRY_OK, messageId, transactionId: extra.transactionId ?? '', offset: BigInt(queueOffset), recallHandle: extra.recallHandle ?? '',
  };
}

/** A SendMessage reply built whole (inBand adds the OK status without create()). */
export function sendMessageResponse(entries: v2.SendResultEntry[]): v2.SendMessageResponse {
  return { $typeName: 'apache.rocketmq.v2.SendMessageResponse', entries };
}

/**
 * An AckMessage reply built whole, an entry per request entry in its order: its message id and
 * status; a failed one also echoes its receipt handle. (Clients read the top-level status, the
 * official ones nothing else; echoing every handle was most of the reply's bytes.) The top-level
 * status: absent when every ack was made (inBand adds OK), the entries' own when all failed
 * alike, else MULTIPLE_RESULTS.
 */
export function ackMessageReply(entries: readonly v2.AckMessageEntry[], errors: readonly (v2.Status | undefined)[] | undefined): v2.AckMessageResponse {
  const results = new Array<v2.AckMessageResultEntry>(entries.length);
  let failed = 0;
  let firstFailure: v2.Status | undefined;
  let alike = true;
  for (let i = 0; i < entries.length; i++) {
    const error = errors?.[i];
    if (error === undefined) {
      results[i] = { $typeName: 'apache.rocketmq.v2.AckMessageResultEntry', messageId: entries[i].messageId, receiptHandle: '', status: ENTRY_OK };
      continue;
    }
    results[i] = { $typeName: 'apache.rocketmq.v2.AckMessageResultEntry', messageId: entries[i].messageId, receiptHandle: entries[i].receiptHandle, status: error };
    failed++;
    firstFailure ??= error;
    if (error.code !== firstFailure.code) alike = false;
  }
  const reply: v2.AckMessageResponse = { $typeName: 'apache.rocketmq.v2.AckMessageResponse', entries: results };
  if (failed === 0) return reply;
  reply.status = failed === entries.length && alike
    ? firstFailure
    : { $typeName: 'apache.rocketmq.v2.Status', code: v2.Code.MULTIPLE_RESULTS, message: `${failed} of ${entries.length} acknowledgements failed; see the entries` };
  return reply;
}
