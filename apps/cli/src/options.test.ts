import { InvalidArgumentError } from 'commander';
import { parseAddress, parseQueueCount, parseTimeoutMs, parseTopicName, TIMEOUT_MS_MAX } from './options';

describe('parseAddress', () => {
  it.each(['127.0.0.1:8081', 'broker-a.internal:8081', '[::1]:9876', 'localhost:1', 'h:65535'])('accepts %p', (text) => {
    expect(parseAddress(text)).toBe(text);
  });

  it.each(['127.0.0.1', ':8081', 'host:0', 'host:65536', 'host:80a', 'a b:80', '::1:80', ''])('rejects %p as a usage error', (text) => {
    expect(() => parseAddress(text)).toThrow(InvalidArgumentError);
  });
});

describe('numbers', () => {
  it('reads whole numbers within their bounds', () => {
    expect(parseTimeoutMs('250')).toBe(250);
    expect(parseQueueCount('16')).toBe(16);
  });

  it.each(['0', '-1', '1.5', '1e3', 'ten', String(TIMEOUT_MS_MAX + 1)])('rejects the timeout %p', (text) => {
    expect(() => parseTimeoutMs(text)).toThrow(InvalidArgumentError);
  });

  it('rejects a queue count of 0 (0 on the wire means "broker default", so it is never typed)', () => {
    expect(() => parseQueueCount('0')).toThrow('from 1');
  });
});

describe('parseTopicName', () => {
  it('accepts RocketMQ names, system prefixes included', () => {
    expect(parseTopicName('Orders_2024-v1')).toBe('Orders_2024-v1');
    expect(parseTopicName('%RETRY%group')).toBe('%RETRY%group');
  });

  it('says why a name is refused, with the rule from @rmq/base', () => {
    expect(() => parseTopicName('a/b')).toThrow('only letters, digits, %, |, _ and - are allowed');
    expect(() => parseTopicName('x'.repeat(128))).toThrow('the limit is 127');
  });
});
