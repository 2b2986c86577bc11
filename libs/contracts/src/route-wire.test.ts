// A topic's message type between the name server's wire and routing's names.
import { TopicMessageType } from './gen/rmq/namesrv/v1/namesrv_pb';
import { topicMessageTypeFromWire, topicMessageTypeToWire } from './route-wire';

describe('topic message types on the name server wire', () => {
  it('goes there and back for every type, reads an unspecified type as NORMAL and an unknown one as undefined', () => {
    for (const type of ['NORMAL', 'FIFO', 'DELAY', 'TRANSACTION'] as const) {
      expect(topicMessageTypeFromWire(topicMessageTypeToWire(type))).toBe(type);
      expect(TopicMessageType[topicMessageTypeToWire(type)]).toBe(type);
    }
    expect(topicMessageTypeFromWire(TopicMessageType.UNSPECIFIED)).toBe('NORMAL');
    expect(topicMessageTypeFromWire(99 as TopicMessageType)).toBeUndefined();
  });
});
