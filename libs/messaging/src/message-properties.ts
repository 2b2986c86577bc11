// How a message's attributes are kept in a record's property map: system attributes under
// "s.", user properties under "u.", so neither can shadow the other.
import type { AppendInput, StoredRecord } from '@rmq/store';
import { tagHashOf } from '@rmq/store';
import { md5HexUpper } from '@rmq/base';

export const SYSTEM_PROPERTY = {
  messageId: 's.id',
  tag: 's.tag',
  keys: 's.keys',
  messageType: 's.type',
  messageGroup: 's.group',
  bornHost: 's.bornHost',
  traceContext: 's.trace',
  deliveryTimestampMs: 's.deliverAt',
  bodyMd5: 's.md5',
  /** Present only for GZIP: the body is stored and delivered as the producer compressed it. */
  bodyEncoding: 's.encoding',
  dlqOriginTopic: 's.dlqOrigin',
  orphanedRecoveryMs: 's.orphanMs',
} as const;

const USER_PREFIX = 'u.';
/** Keys of user properties in a record's property map start with this. */
export const USER_PROPERTY_PREFIX = USER_PREFIX;

export type MessageType = 'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION';

export type BodyEncoding = 'IDENTITY' | 'GZIP';

/** A message as a producer hands it to the broker. */
export interface OutgoingMessage {
  topic: string;
  body: Uint8Array;
  messageId: string;
  messageType: MessageType;
  tag?: string;
  keys: string[];
  messageGroup?: string;
  bornTimestampMs: number;
  bornHost: string;
  traceContext?: string;
  /** How the body is encoded; IDENTITY when left out. The broker never decodes it. */
  bodyEncoding?: BodyEncoding;
  /** DELAY messages: when consumers may see it (ms since 1970). */
  deliveryTimestampMs?: number;
  /** TRANSACTION messages: age at which an open transaction is checked back (the producer's choice). */
  orphanedRecoveryMs?: number;
  userProperties: ReadonlyMap<string, string>;
}

/** A stored message read back, in domain terms. */
export interface IncomingMessage extends OutgoingMessage {
  queueId: number;
  queueOffset: number;
  logOffset: number;
  storeTimestampMs: number;
  bodyMd5Hex: string;
  body: Buffer;
}

/** `bodyMd5`: the body's digest when the caller has it (computed with the rest of its batch: md5-lanes.ts). */
export function toAppendInput(message: OutgoingMessage, queueId: number, bodyMd5 = bodyMd5Hex(message.body)): AppendInput {
  // A flat list, not a Map: built and encoded without an object per property (record.ts).
  const properties: string[] = [
    SYSTEM_PROPERTY.messageId, message.messageId,
    SYSTEM_PROPERTY.messageType, message.messageType,
    SYSTEM_PROPERTY.bornHost, message.bornHost,
    SYSTEM_PROPERTY.bodyMd5, bodyMd5,
  ];
  if (message.tag !== undefined) properties.push(SYSTEM_PROPERTY.tag, message.tag);
  if (message.keys.length > 0) properties.push(SYSTEM_PROPERTY.keys, JSON.stringify(message.keys));
  if (message.messageGroup !== undefined) properties.push(SYSTEM_PROPERTY.messageGroup, message.messageGroup);
  if (message.traceContext !== undefined) properties.push(SYSTEM_PROPERTY.traceContext, message.traceContext);
  if (message.bodyEncoding === 'GZIP') properties.push(SYSTEM_PROPERTY.bodyEncoding, 'GZIP');
  if (message.deliveryTimestampMs !== undefined) properties.push(SYSTEM_PROPERTY.deliveryTimestampMs, String(message.deliveryTimestampMs));
  if (message.orphanedRecoveryMs !== undefined) properties.push(SYSTEM_PROPERTY.orphanedRecoveryMs, String(message.orphanedRecoveryMs));
  if (message.userProperties.size > 0) message.userProperties.forEach((value, key) => properties.push(USER_PREFIX + key, value));
  return {
    topic: message.topic,
    queueId,
    tagHash: tagHashOf(message.tag),
    flags: 0,
    bornTimestampMs: message.bornTimestampMs,
    properties,
    body: message.body,
  };
}

export function fromStoredRecord(record: StoredRecord): IncomingMessage {
  const system = (name: string) => record.properties.get(name);
  // A plain loop, not `new Map(userPropertiesOf(...))`: that view's generators cost more than the copy (every delivery).
  const userProperties = new Map<string, string>();
  for (const [key, value] of record.properties) if (key.startsWith(USER_PREFIX)) userProperties.set(key.slice(USER_PREFIX.length), value);
  const keys = system(SYSTEM_PROPERTY.keys);
  return {
    topic: record.topic,
    queueId: record.queueId,
    queueOffset: record.queueOffset,
    logOffset: record.logOffset,
    storeTimestampMs: record.storeTimestampMs,
    body: record.body,
    bodyMd5Hex: system(SYSTEM_PROPERTY.bodyMd5) ?? bodyMd5Hex(record.body),
    messageId: system(SYSTEM_PROPERTY.messageId) ?? '',
    messageType: (system(SYSTEM_PROPERTY.messageType) as MessageType | undefined) ?? 'NORMAL',
    tag: system(SYSTEM_PROPERTY.tag),
    keys: keys ? (JSON.parse(keys) as string[]) : [],
    messageGroup: system(SYSTEM_PROPERTY.messageGroup),
    bornTimestampMs: record.bornTimestampMs,
    bornHost: system(SYSTEM_PROPERTY.bornHost) ?? '',
    traceContext: system(SYSTEM_PROPERTY.traceContext),
    bodyEncoding: system(SYSTEM_PROPERTY.bodyEncoding) === 'GZIP' ? 'GZIP' : 'IDENTITY',
    deliveryTimestampMs: numberOrUndefined(system(SYSTEM_PROPERTY.deliveryTimestampMs)),
    orphanedRecoveryMs: numberOrUndefined(system(SYSTEM_PROPERTY.orphanedRecoveryMs)),
    userProperties,
  };
}

/** The body digest of a stored message: the one stored with it, else computed (records from before it was stored). */
export function storedBodyMd5Hex(record: StoredRecord): string {
  return record.properties.get(SYSTEM_PROPERTY.bodyMd5) ?? bodyMd5Hex(record.body);
}

function numberOrUndefined(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number(text);
}

/** The body digest consumers get (upper-case hex MD5); a batch's with md5HexUpperAll. */
function bodyMd5Hex(body: Uint8Array): string {
  return md5HexUpper(body);
}

/** Bytes the user properties take, as the size limit counts them. */
export function userPropertiesSizeBytes(properties: ReadonlyMap<string, string>): number {
  let size = 0;
  for (const [key, value] of properties) size += Buffer.byteLength(key) + Buffer.byteLength(value);
  return size;
}

/**
 * A record's user properties without their storage prefix, as a read-only view: filters look up
 * a few keys of every record they read, each found in the record's bytes (no map is built unless
 * the view is iterated).
 */
export function userPropertiesOf(record: StoredRecord): ReadonlyMap<string, string> {
  return new UserPropertiesView(record);
}

class UserPropertiesView implements ReadonlyMap<string, string> {
  constructor(private readonly record: StoredRecord) {}

  get size(): number {
    let count = 0;
    for (const key of this.record.properties.keys()) if (key.startsWith(USER_PREFIX)) count++;
    return count;
  }

  get(key: string): string | undefined {
    return this.record.property(USER_PREFIX + key);
  }

  has(key: string): boolean {
    return this.record.property(USER_PREFIX + key) !== undefined;
  }

  forEach(callback: (value: string, key: string, map: ReadonlyMap<string, string>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }

  *entries(): MapIterator<[string, string]> {
    for (const [key, value] of this.record.properties) if (key.startsWith(USER_PREFIX)) yield [key.slice(USER_PREFIX.length), value];
  }

  *keys(): MapIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }
}
