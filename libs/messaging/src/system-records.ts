// The one shape of the broker's own records in system topics (delay schedules, transaction
// halves and ops, timer marks and recalls): a message is parked in a system topic with its real
// topic in a property, and released later as a copy in its real topic that names the parked
// record's queue offset (so a release can be recognised after a crash); progress records carry
// only properties. timer-records.ts and transaction-records.ts say which topic and property is which.
import { tagHashOf, type AppendInput, type PropertyList, type StoredRecord } from '@rmq/store';
import { SYSTEM_PROPERTY, toAppendInput, type OutgoingMessage } from './message-properties';

/** On a parked message: the topic it is for. */
export const REAL_TOPIC_PROPERTY = 's.realTopic';

/** A message parked in queue 0 of a system topic, invisible to consumers of its real topic. */
export function parkedInput(message: OutgoingMessage, systemTopic: string, tagHash?: number): AppendInput {
  const input = toAppendInput(message, 0);
  const properties = [...(input.properties as PropertyList), REAL_TOPIC_PROPERTY, message.topic];
  return { ...input, topic: systemTopic, tagHash: tagHash ?? input.tagHash, properties };
}

/** An input whose properties are a Map (built from a stored record's, or given as pairs). */
export type MappedInput = AppendInput & { properties: Map<string, string> };

export function realTopicOf(parked: StoredRecord): string {
  return parked.properties.get(REAL_TOPIC_PROPERTY) ?? '';
}

/**
 * The parked message released to its real topic, naming the parked record's queue offset in
 * `originProperty`; the queue is that offset modulo the queue count (the same on any replica).
 */
export function releasedInput(parked: StoredRecord, queueCount: number, originProperty: string): MappedInput {
  const properties = new Map(parked.properties);
  properties.delete(REAL_TOPIC_PROPERTY);
  properties.set(originProperty, String(parked.queueOffset));
  return {
    topic: realTopicOf(parked),
    queueId: parked.queueOffset % queueCount,
    tagHash: tagHashOf(parked.properties.get(SYSTEM_PROPERTY.tag)),
    flags: 0,
    bornTimestampMs: parked.bornTimestampMs,
    properties,
    body: parked.body,
  };
}

/** A bodiless record of the broker's own progress (a mark, a recall, a transaction op). */
export function progressInput(systemTopic: string, queueId: number, nowMs: number, properties: [string, string][]): MappedInput {
  return { topic: systemTopic, queueId, tagHash: 0, flags: 0, bornTimestampMs: nowMs, properties: new Map(properties), body: new Uint8Array(0) };
}
