// A message as our consumers hand it to the application, read from the wire once.
import { gunzipSync } from 'node:zlib';
import { timestampMs, v2 } from '@rmq/contracts';
import { CLIENT_LIMITS } from './limits';

export interface ReceivedMessage {
  messageId: string;
  topic: string;
  tag?: string;
  keys: string[];
  messageGroup?: string;
  properties: Record<string, string>;
  body: Buffer;
  deliveryAttempt: number;
  bornTimestampMs?: number;
  queueId: number;
  queueOffset: number;
  /** Which broker delivered it; acks go back there. */
  brokerName: string;
  endpoint: string;
  /** Current receipt handle; changeInvisibleDuration replaces it. */
  receiptHandle: string;
  /** The W3C trace context of the message's creation (its send span), when it has one. */
  traceContext?: string;
}

export function receivedMessage(message: v2.Message, brokerName: string, endpoint: string): ReceivedMessage {
  const system = message.systemProperties;
  return {
    messageId: system?.messageId ?? '',
    topic: message.topic?.name ?? '',
    tag: system?.tag,
    keys: system?.keys ?? [],
    messageGroup: system?.messageGroup,
    properties: { ...message.userProperties },
    body: decodedBody(message),
    deliveryAttempt: system?.deliveryAttempt ?? 1,
    bornTimestampMs: system?.bornTimestamp ? timestampMs(system.bornTimestamp) : undefined,
    queueId: system?.queueId ?? 0,
    queueOffset: Number(system?.queueOffset ?? 0n),
    brokerName,
    endpoint,
    receiptHandle: system?.receiptHandle ?? '',
    traceContext: system?.traceContext,
  };
}

/** A GZIP body is handed to the application decompressed, as the official clients do. */
function decodedBody(message: v2.Message): Buffer {
  const body = Buffer.from(message.body);
  if (message.systemProperties?.bodyEncoding !== v2.Encoding.GZIP) return body;
  return gunzipSync(body, { maxOutputLength: CLIENT_LIMITS.gunzippedBodyBytesMax });
}
