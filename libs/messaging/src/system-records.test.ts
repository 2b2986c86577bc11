import { decodeRecord, encodeRecord, propertyOf, tagHashOf, type StoredRecord } from '@rmq/store';
import type { OutgoingMessage } from './message-properties';
import { parkedInput, progressInput, REAL_TOPIC_PROPERTY, realTopicOf, releasedInput } from './system-records';

const message: OutgoingMessage = {
  topic: 'Orders', body: Buffer.from('paid'), messageId: 'M1', messageType: 'DELAY', tag: 'eu', keys: ['k'],
  bornTimestampMs: 1_000, bornHost: 'h', userProperties: new Map([['region', 'eu']]),
};

function stored(input: ReturnType<typeof parkedInput>, queueOffset: number): StoredRecord {
  return decodeRecord(encodeRecord(input, { queueOffset, logOffset: 4_096, storeTimestampMs: 2_000 }));
}

describe('system records (the shape delay schedules and transaction halves share)', () => {
  it('parks a message in queue 0 of a system topic, naming its real topic, with the tag hash given or the tag\'s', () => {
    const parked = parkedInput(message, '%SYS%X', 77);
    expect(parked).toMatchObject({ topic: '%SYS%X', queueId: 0, tagHash: 77, bornTimestampMs: 1_000 });
    expect(propertyOf(parked.properties, REAL_TOPIC_PROPERTY)).toBe('Orders');
    expect(parkedInput(message, '%SYS%X').tagHash).toBe(tagHashOf('eu'));
  });

  it('releases a parked message to its real topic as sent, naming where it was parked, in queue offset modulo the queue count', () => {
    const parked = stored(parkedInput(message, '%SYS%X', 77), 10);
    expect(realTopicOf(parked)).toBe('Orders');
    const released = releasedInput(parked, 4, 's.origin');
    expect(released).toMatchObject({ topic: 'Orders', queueId: 2, tagHash: tagHashOf('eu'), flags: 0, bornTimestampMs: 1_000 });
    expect(Buffer.from(released.body).toString()).toBe('paid');
    expect(released.properties.get('s.origin')).toBe('10');
    expect(released.properties.has(REAL_TOPIC_PROPERTY)).toBe(false);
    const { [REAL_TOPIC_PROPERTY]: _, ...parkedProperties } = Object.fromEntries(parked.properties);
    const { 's.origin': __, ...releasedProperties } = Object.fromEntries(released.properties);
    expect(releasedProperties).toEqual(parkedProperties); // every property of the message survives
  });

  it('writes progress as a bodiless record of properties', () => {
    const progress = progressInput('%SYS%X', 1, 5_000, [['a', '1']]);
    expect(progress).toMatchObject({ topic: '%SYS%X', queueId: 1, tagHash: 0, bornTimestampMs: 5_000 });
    expect([...progress.properties]).toEqual([['a', '1']]);
    expect(progress.body.byteLength).toBe(0);
  });
});
