// The slave's side of the master's proof (contracts' master-proof.ts): with a cluster secret,
// DescribeLog and Follow carry a challenge, and an answer that does not prove the secret ends the
// attempt before anything is cut, copied or believed.
import type { Metadata } from '@grpc/grpc-js';
import { replication, type MasterChallenge, type PeerLink, type ServiceClient } from '@rmq/contracts';
import { REPLICATION_LIMITS } from './limits';

type Client = ServiceClient<typeof replication.ReplicationService.method>;

export class MasterNotProvenError extends Error {
  constructor(
    readonly masterEndpoint: string,
    readonly problem: string,
  ) {
    super(`the master at ${masterEndpoint} did not prove it holds the cluster secret: ${problem}; nothing is copied from it`);
  }
}

export function requireMasterProof(challenge: MasterChallenge | undefined, headers: Metadata | undefined, masterEndpoint: string): void {
  const problem = challenge?.problem(headers);
  if (problem) throw new MasterNotProvenError(masterEndpoint, problem);
}

/** DescribeLog on the master of `brokerName`, refused (MasterNotProvenError) unless it proves the cluster secret when there is one. */
export async function describeProvenMaster(
  client: Client,
  options: { brokerName: string; masterEndpoint: string; peer?: PeerLink; signal?: AbortSignal },
): Promise<replication.DescribeLogResponse> {
  const challenge = options.peer?.challengeMaster?.(options.brokerName);
  let headers: Metadata | undefined;
  const described = await client.describeLog({ brokerName: options.brokerName }, {
    deadlineMs: REPLICATION_LIMITS.masterSilenceMsMax,
    signal: options.signal,
    metadata: challenge?.metadata ?? options.peer?.metadata(),
    onMetadata: (received) => (headers = received),
  });
  requireMasterProof(challenge, headers, options.masterEndpoint);
  return described;
}
