// With a cluster secret (--cluster-secret-file), only brokers that hold it may register or
// unregister: each such call is signed with it as RocketMQ 5 clients sign (HMAC-SHA1 over
// x-mq-date-time). Route queries stay open. Each refusal writes one audit line.
import { AUTHORIZATION_HEADER, CLUSTER_ACCESS_KEY, DATE_TIME_HEADER, RmqError, SIGNATURE_PROBLEM_TEXT, verifySignedHeaders, type Clock } from '@rmq/base';
import type { CallGuard } from '@rmq/contracts';
import type { Logger } from '@rmq/observability';

const GUARDED_METHODS = new Set(['RegisterBroker', 'UnregisterBroker']);

export function registrationGuard(options: { clusterSecret: string; clock: Clock; clockSkewMsMax: number; log: Logger }): CallGuard {
  const audit = options.log.child({ component: 'audit' });
  return (call) => {
    if (!GUARDED_METHODS.has(call.method)) return;
    const header = (name: string) => String(call.metadata.get(name)[0] ?? '');
    const verdict = verifySignedHeaders(
      { authorization: header(AUTHORIZATION_HEADER), dateTime: header(DATE_TIME_HEADER) },
      (accessKey) => (accessKey === CLUSTER_ACCESS_KEY ? options.clusterSecret : undefined),
      options.clock.nowMs(),
      options.clockSkewMsMax,
    );
    if (!('problem' in verdict)) return;
    const reason = `${call.method} needs the cluster secret: ${SIGNATURE_PROBLEM_TEXT[verdict.problem]}`;
    const request = call.request as { broker?: { brokerName?: string }; endpoint?: string } | undefined;
    audit.warn('access refused', { method: call.method, code: 'UNAUTHORIZED', problem: verdict.problem, peer: call.peer, brokerName: request?.broker?.brokerName, endpoint: request?.endpoint });
    throw new RmqError('UNAUTHORIZED', { reason });
  };
}
