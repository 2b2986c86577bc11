// Calls between our apps signed with the cluster's shared secret (access key rmq-cluster, signed
// as RocketMQ 5 clients sign: HMAC-SHA1 over x-mq-date-time). The guard refuses the listed
// methods (or every method) unless so signed; the app writes the audit line from `onRefused`.
// PeerLink is the calling side: the channel credentials (TLS) and the signed metadata of a call.
import type * as grpc from '@grpc/grpc-js';
import { AUTHORIZATION_HEADER, CLUSTER_ACCESS_KEY, DATE_TIME_HEADER, RmqError, SIGNATURE_PROBLEM_TEXT, verifySignedHeaders, type Clock, type SignatureProblem } from '@rmq/base';
import type { CallGuard, GuardedCall } from './call-guard';
import { challengeMaster, type MasterChallenge } from './master-proof';
import { signedMetadata } from './signed-metadata';
import { channelCredentials, type ClientTls } from './tls';

export interface ClusterSecretGuardOptions {
  clusterSecret: string;
  /** Methods that need the secret (proto names, e.g. "RegisterBroker"); undefined: every method. */
  methods?: ReadonlySet<string>;
  clock: Clock;
  clockSkewMsMax: number;
  /** One audit line per refusal. */
  onRefused: (call: GuardedCall, problem: SignatureProblem, reason: string) => void;
}

export function clusterSecretGuard(options: ClusterSecretGuardOptions): CallGuard {
  return (call) => {
    if (options.methods && !options.methods.has(call.method)) return;
    const header = (name: string) => String(call.metadata.get(name)[0] ?? '');
    const verdict = verifySignedHeaders(
      { authorization: header(AUTHORIZATION_HEADER), dateTime: header(DATE_TIME_HEADER) },
      (accessKey) => (accessKey === CLUSTER_ACCESS_KEY ? options.clusterSecret : undefined),
      options.clock.nowMs(),
      options.clockSkewMsMax,
    );
    if (!('problem' in verdict)) return;
    const reason = `${call.method} needs the cluster secret: ${SIGNATURE_PROBLEM_TEXT[verdict.problem]}`;
    options.onRefused(call, verdict.problem, reason);
    throw new RmqError('UNAUTHORIZED', { reason });
  };
}

/** How one app calls another: over TLS when configured, each call signed with the cluster secret when there is one. */
export interface PeerLink {
  credentials(): grpc.ChannelCredentials;
  /** Fresh for each call: the signature covers the call's time. */
  metadata(): grpc.Metadata;
  /** With a cluster secret: a call's signed metadata plus a challenge the master of `brokerName` must answer (master-proof.ts). */
  challengeMaster?(brokerName: string): MasterChallenge;
}

export function peerLink(tls: ClientTls | undefined, clusterSecret: string | undefined, clock: Clock): PeerLink {
  const credentials = clusterSecret ? { accessKey: CLUSTER_ACCESS_KEY, secret: clusterSecret } : undefined;
  return {
    credentials: () => channelCredentials(tls),
    metadata: () => signedMetadata(credentials, clock.nowMs()),
    ...(clusterSecret ? { challengeMaster: (brokerName: string) => challengeMaster(clusterSecret, brokerName, signedMetadata(credentials, clock.nowMs())) } : {}),
  };
}
