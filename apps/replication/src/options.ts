// Every knob of the replication controller, declared once (flags, RMQ_* env, defaults, --help).
import { tlsOptionsSchema, type Schema } from '@rmq/config';
import { REPLICA_TIMEOUT_MS_DEFAULT } from './replica-groups';

export const replicationOptions = {
  listen: { type: 'hostPort', help: 'where ControllerService listens (port 0 picks a free port)', default: '127.0.0.1:9878' },
  httpListen: { type: 'hostPort', help: 'where /health and /metrics listen', default: '127.0.0.1:9879' },
  dataDir: { type: 'string', help: 'folder of the controller state file' },
  replicaTimeoutMs: {
    type: 'int',
    help: 'a replica is dead once its last heartbeat is older than this',
    default: REPLICA_TIMEOUT_MS_DEFAULT,
    min: 100,
    max: 600_000,
  },
  scanIntervalMs: { type: 'int', help: 'how often groups are checked for a dead master', default: 1_000, min: 10, max: 60_000 },
  logLevel: { type: 'enum', help: 'least important log level written', default: 'info', values: ['debug', 'info', 'warn', 'error'] },
  ...tlsOptionsSchema,
} as const satisfies Schema;
