import { ConfigError, loadConfig } from './config';

const schema = {
  listen: { type: 'hostPort', help: 'where to listen', default: '127.0.0.1:8081' },
  dataDir: { type: 'string', help: 'where data lives' },
  queueCount: { type: 'int', help: 'queues', default: 8, min: 1, max: 1024 },
  autoCreateTopics: { type: 'bool', help: 'auto-create', default: false },
  flushMode: { type: 'enum', help: 'durability', default: 'sync', values: ['sync', 'async'] },
  nameServers: { type: 'hostPortList', help: 'name servers', default: '127.0.0.1:9876' },
} as const;

describe('loadConfig', () => {
  it('takes flags first, then RMQ_* environment variables, then defaults', () => {
    const config = loadConfig(schema, ['--data-dir', '/tmp/x', '--auto-create-topics'], { RMQ_QUEUE_COUNT: '4' });
    expect(config).toEqual({ listen: '127.0.0.1:8081', dataDir: '/tmp/x', queueCount: 4, autoCreateTopics: true, flushMode: 'sync', nameServers: ['127.0.0.1:9876'] });
  });

  it('reads a comma-separated address list, and an empty one as none', () => {
    expect(loadConfig(schema, ['--data-dir', 'd', '--name-servers', 'a:1, b:2']).nameServers).toEqual(['a:1', 'b:2']);
    expect(loadConfig(schema, ['--data-dir', 'd', '--name-servers', '']).nameServers).toEqual([]);
  });

  it.each([
    [['--data-dir', 'd', '--nope', '1'], 'unknown option --nope'],
    [['--data-dir', 'd', '--queue-count', 'many'], '--queue-count must be a whole number'],
    [['--data-dir', 'd', '--queue-count', '0'], 'at least 1'],
    [['--data-dir', 'd', '--listen', 'nowhere'], 'host:port'],
    [['--data-dir', 'd', '--flush-mode', 'maybe'], 'one of sync, async'],
    [[], '--data-dir (or RMQ_DATA_DIR) is required'],
    [['--data-dir', 'd', '--name-servers', 'a:1,b'], '--name-servers must look like host:port, got "b"'],
  ])('rejects %j with a message naming the option', (argv, text) => {
    expect(() => loadConfig(schema, argv, {})).toThrow(ConfigError);
    expect(() => loadConfig(schema, argv, {})).toThrow(text);
  });
});
