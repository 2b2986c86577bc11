// Accepting messages: validation, queue choice and one store append per batch.
// The broker chooses the queue: FIFO messages by a hash of their message group (so one group
// stays on one queue, in order), others round robin over the topic's queues. DELAY and
// TRANSACTION messages are handed to a stager that stores them elsewhere first (a schedule, a
// half message); without one they are refused as unsupported.
import { fnv1a32, latencyProbe, md5HexUpperAll, md5LanesAvailable, RmqError } from '@rmq/base';
import type { AppendInput, AppendResult, MessageStore } from '@rmq/store';
import { PERM_WRITE, type TopicConfig, type TopicRegistry } from './topic-registry';
import { toAppendInput, userPropertiesSizeBytes, type MessageType, type OutgoingMessage } from './message-properties';
import { MESSAGING_LIMITS } from './limits';

export interface SendResult {
  messageId: string;
  queueId: number;
  queueOffset: number;
  logOffset: number;
  /** DELAY messages: cancels the delivery (RecallMessage). */
  recallHandle?: string;
  /** TRANSACTION messages: names the half message in EndTransaction. */
  transactionId?: string;
}

/** Stores a kind of message somewhere other than its topic until it is due or decided. */
export interface MessageStager {
  stage(message: OutgoingMessage, topic: TopicConfig): AppendInput;
  receipt(message: OutgoingMessage, result: AppendResult): Pick<SendResult, 'recallHandle' | 'transactionId'>;
}

const KEY_PATTERN = /^[^\s]+$/;
/** Why a message group is refused, as RocketMQ's proxy refuses it (it is also a key of the broker's FIFO state). */
function messageGroupProblem(group: string): string | undefined {
  if (group.trim().length === 0) return 'it is empty or only spaces';
  if (/[\u0000-\u001f\u007f-\u009f]/.test(group)) return 'it contains a control character';
  const sizeBytes = Buffer.byteLength(group);
  if (sizeBytes > MESSAGING_LIMITS.messageGroupBytesMax) return `it takes ${sizeBytes} bytes in UTF-8; the limit is ${MESSAGING_LIMITS.messageGroupBytesMax}`;
  return undefined;
}

/** A long value cut for an error message. */
function shortened(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

/** What makes a message of each type, for the error that a topic takes another type. */
const MESSAGE_TYPE_SHAPES: Record<MessageType, string> = {
  NORMAL: 'without a message group, delivery time or transaction',
  FIFO: 'with a message group',
  DELAY: 'with a delivery time',
  TRANSACTION: 'sent in a transaction',
};

export class ProducerService {
  private roundRobin = 0;

  constructor(
    private readonly store: MessageStore,
    private readonly topics: TopicRegistry,
    private readonly bodySizeBytesMax: number = MESSAGING_LIMITS.bodySizeBytesMax,
    private readonly stagers: Partial<Record<MessageType, MessageStager>> = {},
  ) {
    // The digest lanes' module is assembled and compiled now (tens of ms, once per process), not during the first batch.
    md5LanesAvailable();
  }

  /** Throws the first problem found; nothing is stored unless every message is valid. */
  validate(message: OutgoingMessage): TopicConfig {
    const topic = this.topics.require(message.topic);
    if ((topic.perm & PERM_WRITE) === 0) throw new RmqError('BAD_REQUEST', { reason: `topic ${topic.name} is read-only on this broker` });
    if (message.body.byteLength === 0) throw new RmqError('BODY_EMPTY');
    if (message.body.byteLength > this.bodySizeBytesMax) {
      throw new RmqError('BODY_TOO_LARGE', { sizeBytes: message.body.byteLength, sizeBytesMax: this.bodySizeBytesMax });
    }
    if ((message.messageType === 'DELAY' || message.messageType === 'TRANSACTION') && !this.stagers[message.messageType]) {
      throw new RmqError('UNSUPPORTED', { feature: `${message.messageType.toLowerCase()} messages` });
    }
    if (topic.messageType !== message.messageType) {
      throw new RmqError('ILLEGAL_MESSAGE_TYPE', { topic: topic.name, accepted: topic.messageType, shape: MESSAGE_TYPE_SHAPES[topic.messageType], actual: message.messageType });
    }
    if (message.messageType === 'FIFO' && !message.messageGroup) {
      throw new RmqError('BAD_REQUEST', { reason: 'a FIFO message needs a message group' });
    }
    // An empty group is no group (RocketMQ's proxy checks only a non-empty one); FIFO needs one, above.
    if (message.messageGroup) {
      const problem = messageGroupProblem(message.messageGroup);
      if (problem) throw new RmqError('ILLEGAL_MESSAGE_GROUP', { group: JSON.stringify(shortened(message.messageGroup)), reason: problem });
    }
    if (message.tag !== undefined && (message.tag.length === 0 || /[|\s]/.test(message.tag) || message.tag === '*')) {
      throw new RmqError('ILLEGAL_MESSAGE_TAG', { tag: JSON.stringify(message.tag), reason: 'a tag is non-empty, without spaces or |, and not *' });
    }
    for (const key of message.keys) {
      if (!KEY_PATTERN.test(key)) throw new RmqError('ILLEGAL_MESSAGE_KEY', { key: JSON.stringify(key), reason: 'a key is non-empty and without spaces' });
    }
    for (const key of message.userProperties.keys()) {
      if (key.length === 0) throw new RmqError('ILLEGAL_MESSAGE_PROPERTY', { key: '""', reason: 'property names are non-empty' });
    }
    const propertiesSizeBytes = userPropertiesSizeBytes(message.userProperties);
    if (propertiesSizeBytes > MESSAGING_LIMITS.propertiesSizeBytesMax) {
      throw new RmqError('PROPERTIES_TOO_LARGE', { sizeBytes: propertiesSizeBytes, sizeBytesMax: MESSAGING_LIMITS.propertiesSizeBytesMax });
    }
    return topic;
  }

  /**
   * Stores valid messages in one append; resolves once they are durable. Not an async function:
   * at one message per call its frame and extra promise are a measurable share of a send's garbage.
   * The records are encoded when the append is made: from then on only the ids and queues wait for
   * the fdatasync, not the messages and their append inputs (so those die young, uncopied by scavenges).
   */
  send(messages: readonly OutgoingMessage[]): Promise<SendResult[]> {
    const startedMs = latencyProbe.enabled ? performance.now() : 0;
    let inputs: AppendInput[];
    try {
      inputs = this.appendInputs(messages);
    } catch (error) {
      return Promise.reject(error);
    }
    const appended = this.store.append(inputs);
    if (messages.some((message) => this.stagers[message.messageType] !== undefined)) return this.stagedResults(messages, inputs, appended, startedMs);
    // (No closure of this function may capture the messages or inputs: it would keep them through the wait.)
    const messageIds = new Array<string>(messages.length);
    const queueIds = new Array<number>(messages.length);
    for (let i = 0; i < messages.length; i++) {
      messageIds[i] = messages[i].messageId;
      queueIds[i] = inputs[i].queueId;
    }
    return appended.then((results) => {
      if (latencyProbe.enabled) markSent(results, startedMs);
      const sent = new Array<SendResult>(results.length);
      for (let i = 0; i < results.length; i++) {
        sent[i] = { messageId: messageIds[i], queueId: queueIds[i], queueOffset: results[i].queueOffset, logOffset: results[i].logOffset };
      }
      return sent;
    });
  }

  /** Validates the messages (throws the first problem) and makes their append inputs. */
  private appendInputs(messages: readonly OutgoingMessage[]): AppendInput[] {
    const topics = messages.map((message) => this.validate(message));
    // A batch's body digests in one pass, eight at a time where their sizes allow (md5-lanes.ts).
    const digests = messages.length > 1 ? md5HexUpperAll(messages.map((message) => message.body)) : undefined;
    return messages.map((message, i) => {
      const stager = this.stagers[message.messageType];
      return stager ? stager.stage(message, topics[i]) : toAppendInput(message, this.queueFor(message, topics[i]), digests?.[i]);
    });
  }

  /** Results of a batch with DELAY or TRANSACTION messages: the stagers' receipts need the messages. */
  private stagedResults(messages: readonly OutgoingMessage[], inputs: readonly AppendInput[], appended: Promise<AppendResult[]>, startedMs: number): Promise<SendResult[]> {
    return appended.then((results) => {
      if (latencyProbe.enabled) markSent(results, startedMs);
      return results.map((result, i) => {
        const sent: SendResult = { messageId: messages[i].messageId, queueId: inputs[i].queueId, queueOffset: result.queueOffset, logOffset: result.logOffset };
        const stager = this.stagers[messages[i].messageType];
        return stager ? Object.assign(sent, stager.receipt(messages[i], result)) : sent;
      });
    });
  }

  private queueFor(message: OutgoingMessage, topic: TopicConfig): number {
    if (message.messageGroup !== undefined) return fnv1a32(message.messageGroup) % topic.queueCount;
    return this.roundRobin++ % topic.queueCount;
  }
}

function markSent(results: readonly AppendResult[], startedMs: number): void {
  for (const result of results) {
    latencyProbe.mark(result.logOffset, 'sendStarted', startedMs);
    latencyProbe.mark(result.logOffset, 'sendAnswered');
  }
}

/** FNV-1a: the same message group lands on the same queue on every broker start. */
