// Authentication and authorization of every call when the broker runs with --auth: the request's
// RocketMQ 5 signature is verified against the user's secret, then the user must hold what the
// method needs (access-needs.ts). Each refusal writes one audit line (warn level) with the method,
// the access key, the peer and the reason; the client gets UNAUTHORIZED or FORBIDDEN.
import { AUTHORIZATION_HEADER, DATE_TIME_HEADER, RmqError, SIGNATURE_PROBLEM_TEXT, type Clock } from '@rmq/base';
import type { CallGuard, GuardedCall } from '@rmq/contracts';
import { describeNeed, unmetNeed, type AccessStore, type AccessUser } from '@rmq/messaging';
import type { Logger } from '@rmq/observability';
import { accessNeeds } from './access-needs';
import { VerifiedSignatures } from './verified-signatures';

export interface AccessGuardOptions {
  users: AccessStore;
  /** The admin from the broker's own configuration (--auth-admin-user and its secret file); always an admin. */
  bootstrapAdmin?: { name: string; secret: string };
  clock: Clock;
  clockSkewMsMax: number;
  log: Logger;
}

export function accessGuard(options: AccessGuardOptions): CallGuard {
  const audit = options.log.child({ component: 'audit' });
  const userOf = (name: string): AccessUser | undefined => {
    const bootstrap = options.bootstrapAdmin;
    if (bootstrap && name === bootstrap.name) return { name, secret: bootstrap.secret, admin: true, grants: [] };
    return options.users.get(name);
  };
  // One HMAC per client and second, not per call (verified-signatures.ts says why that is sound).
  const signatures = new VerifiedSignatures();
  return (call: GuardedCall) => {
    const header = (name: string) => String(call.metadata.get(name)[0] ?? '');
    const refuse = (error: RmqError, fields: Record<string, unknown>) => {
      audit.warn('access refused', { method: call.method, code: error.code, reason: error.message, clientId: header('x-mq-client-id'), peer: call.peer, ...fields });
      throw error;
    };
    const verdict = signatures.verify(
      { authorization: header(AUTHORIZATION_HEADER), dateTime: header(DATE_TIME_HEADER) },
      (accessKey) => userOf(accessKey)?.secret,
      options.clock.nowMs(),
      options.clockSkewMsMax,
    );
    if ('problem' in verdict) {
      return refuse(new RmqError('UNAUTHORIZED', { reason: SIGNATURE_PROBLEM_TEXT[verdict.problem] }), { accessKey: verdict.accessKey, problem: verdict.problem });
    }
    const user = userOf(verdict.accessKey)!;
    const unmet = unmetNeed(user, accessNeeds(call.method, call.request));
    if (unmet) refuse(new RmqError('FORBIDDEN', { user: user.name, ...describeNeed(unmet) }), { accessKey: user.name });
  };
}
