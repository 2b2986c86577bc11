// AdminService.FindMessages: stored messages by id or by (topic, key), through the store's
// index (RocketMQ's queryMsgById / queryMsgByKey), for `rmq message show` and `rmq message find`.
import { RmqError } from '@rmq/base';
import { admin, create } from '@rmq/contracts';
import { fromStoredRecord } from '@rmq/messaging';
import type { MessageStore } from '@rmq/store';

const FOUND_COUNT_DEFAULT = 32;
/** Messages one call returns at most: each carries its body. */
const FOUND_COUNT_MAX = 256;

export function findMessagesHandler(store: MessageStore): (request: admin.FindMessagesRequest) => Promise<admin.FindMessagesResponse> {
  return async (request) => {
    const countMax = Math.min(request.countMax || FOUND_COUNT_DEFAULT, FOUND_COUNT_MAX);
    let records;
    if (request.messageId) records = await store.findById(request.messageId, { topic: request.topic || undefined, countMax });
    else if (request.topic && request.key) records = await store.findByKey(request.topic, request.key, { countMax });
    else throw new RmqError('BAD_REQUEST', { reason: 'give a message id, or a topic and a key' });
    return create(admin.FindMessagesResponseSchema, {
      messages: records.map((record) => {
        const message = fromStoredRecord(record);
        return {
          topic: message.topic,
          queueId: message.queueId,
          queueOffset: BigInt(message.queueOffset),
          logOffset: BigInt(message.logOffset),
          storeTimestampMs: BigInt(message.storeTimestampMs),
          messageId: message.messageId,
          tag: message.tag ?? '',
          keys: message.keys,
          messageGroup: message.messageGroup ?? '',
          properties: Object.fromEntries(message.userProperties),
          body: message.body,
        };
      }),
    });
  };
}
