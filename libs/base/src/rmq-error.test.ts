import { RmqError, isRmqError } from './rmq-error';
import { nameProblem, TOPIC_NAME_LENGTH_MAX } from './names';

describe('RmqError', () => {
  it('renders its catalogue text with the given params and keeps code and kind', () => {
    const error = new RmqError('BODY_TOO_LARGE', { sizeBytes: 5_000_000, sizeBytesMax: 4_194_304 });
    expect(error.message).toBe('message body is 5000000 bytes; the limit is 4194304');
    expect(error.kind).toBe('resourceExhausted');
    expect(isRmqError(error, 'BODY_TOO_LARGE')).toBe(true);
    expect(isRmqError(error, 'TOPIC_NOT_FOUND')).toBe(false);
  });

  it('leaves a placeholder visible when its param is missing, rather than hiding the gap', () => {
    expect(new RmqError('TOPIC_NOT_FOUND').message).toContain('{topic}');
  });
});

describe('nameProblem', () => {
  it.each([
    ['', 'empty'],
    ['a b', 'only letters'],
    ['x'.repeat(TOPIC_NAME_LENGTH_MAX + 1), 'limit'],
  ])('rejects %p', (name, why) => {
    expect(nameProblem(name, TOPIC_NAME_LENGTH_MAX)).toContain(why);
  });

  it('accepts RocketMQ system names', () => {
    expect(nameProblem('%DLQ%group_1-a|b', TOPIC_NAME_LENGTH_MAX)).toBeUndefined();
  });
});
