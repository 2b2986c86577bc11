// With a cluster secret (--cluster-secret-file), only brokers that hold it may register or
// unregister: each such call is signed with it as RocketMQ 5 clients sign (HMAC-SHA1 over
// x-mq-date-time). Route queries stay open. Each refusal writes one audit line.
import type { Clock } from '@rmq/base';
import { clusterSecretGuard, type CallGuard } from '@rmq/contracts';
import type { Logger } from '@rmq/observability';

const GUARDED_METHODS = new Set(['RegisterBroker', 'UnregisterBroker']);

export function registrationGuard(options: { clusterSecret: string; clock: Clock; clockSkewMsMax: number; log: Logger }): CallGuard {
  const audit = options.log.child({ component: 'audit' });
  return clusterSecretGuard({
    clusterSecret: options.clusterSecret, methods: GUARDED_METHODS, clock: options.clock, clockSkewMsMax: options.clockSkewMsMax,
    onRefused: (call, problem) => {
      const request = call.request as { broker?: { brokerName?: string }; endpoint?: string } | undefined;
      audit.warn('access refused', { method: call.method, code: 'UNAUTHORIZED', problem, peer: call.peer, brokerName: request?.broker?.brokerName, endpoint: request?.endpoint });
    },
  });
}
