// Every knob of the replication controller, declared once (flags, RMQ_* env, defaults, --help).
import { tlsOptionsSchema, type Schema } from '@rmq/config';
import { REPLICATION_LIMITS } from '@rmq/replication';

export const replicationOptions = {
  listen: { type: 'hostPort', help: 'where ControllerService listens (port 0 picks a free port)', default: '127.0.0.1:9878' },
  advertise: { type: 'string', help: 'host:port other controllers and brokers dial, when it differs from --listen', default: '' },
  httpListen: { type: 'hostPort', help: 'where /health and /metrics listen', default: '127.0.0.1:9879' },
  clusterName: { type: 'string', help: 'cluster name on this app\'s metrics (the cluster label, as on the brokers\' series)', default: 'DefaultCluster' },
  dataDir: { type: 'string', help: 'folder of the controller state file (file store; unused with --etcd)', default: '' },
  etcd: {
    type: 'hostPortList',
    help: 'comma-separated etcd endpoints: several controllers share state in etcd and one leads (empty: one controller, state in --data-dir)',
    default: '',
  },
  etcdPrefix: { type: 'string', help: 'etcd key prefix of this controller cluster', default: '/rmq/controller' },
  brokerTimeoutMs: {
    type: 'int',
    help: 'a broker is dead once its last heartbeat is older than this; a new leader also waits this long before electing',
    default: REPLICATION_LIMITS.brokerTimeoutMsDefault,
    min: 100,
    max: 600_000,
  },
  heartbeatIntervalMs: {
    type: 'int',
    help: 'how often brokers are told to heartbeat',
    default: REPLICATION_LIMITS.heartbeatIntervalMsDefault,
    min: 20,
    max: 60_000,
  },
  scanIntervalMs: { type: 'int', help: 'how often groups are checked for a dead master', default: 200, min: 10, max: 60_000 },
  uncleanElection: {
    type: 'bool',
    help: 'when no in-sync broker is alive, elect an out-of-sync one (may lose acknowledged messages)',
    default: false,
  },
  clusterSecretFile: {
    type: 'string',
    help: 'file (mode 0600) with the cluster\'s shared secret: only brokers that sign with it may heartbeat or change an in-sync set (reads stay open); empty for none',
    default: '',
  },
  clockSkewMs: { type: 'int', help: 'how far a signed call\'s x-mq-date-time may be from this clock', default: 300_000, min: 1_000, max: 3_600_000 },
  logLevel: { type: 'enum', help: 'least important log level written', default: 'info', values: ['debug', 'info', 'warn', 'error'] },
  ...tlsOptionsSchema,
} as const satisfies Schema;
