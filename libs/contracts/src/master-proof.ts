// A master proves to its slave that it holds the cluster secret. The slave's calls are signed
// with the secret (cluster-secret-guard.ts), which proves the slave to the master; this is the
// other direction: the slave sends a fresh random challenge with DescribeLog and Follow, and the
// master answers in its response headers with an HMAC of it keyed by the cluster secret. A
// stranger the slave was pointed at (a wrong --master, a forged route) cannot answer, and the
// slave copies nothing from it. It proves who answers the call, not each byte shipped: against
// a man in the middle, TLS with --tls-ca-file is what protects the stream.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';

export const MASTER_CHALLENGE_HEADER = 'x-rmq-master-challenge';
export const MASTER_PROOF_HEADER = 'x-rmq-master-proof';
const CHALLENGE_BYTES = 16;
const CHALLENGE_FORMAT = new RegExp(`^[0-9a-f]{${CHALLENGE_BYTES * 2}}$`);

function proofOf(clusterSecret: string, brokerName: string, challenge: string): string {
  return createHmac('sha256', clusterSecret).update(`rmq-master-proof\n${brokerName}\n${challenge}`).digest('hex');
}

/** Master side: the response headers that answer the caller's challenge; undefined when it sent none. */
export function answerMasterChallenge(clusterSecret: string, request: Metadata, brokerName: string): Metadata | undefined {
  const challenge = String(request.get(MASTER_CHALLENGE_HEADER)[0] ?? '');
  if (!CHALLENGE_FORMAT.test(challenge)) return undefined;
  const answer = new Metadata();
  answer.set(MASTER_PROOF_HEADER, proofOf(clusterSecret, brokerName, challenge));
  return answer;
}

/** Slave side: one call's challenge (sent in `metadata`) and the check of the master's answer. */
export interface MasterChallenge {
  metadata: Metadata;
  /** Why the response headers do not prove the secret; undefined when they do. */
  problem(response: Metadata | undefined): string | undefined;
}

/** Adds a fresh challenge to a call's (signed) metadata. */
export function challengeMaster(clusterSecret: string, brokerName: string, metadata: Metadata): MasterChallenge {
  const challenge = randomBytes(CHALLENGE_BYTES).toString('hex');
  metadata.set(MASTER_CHALLENGE_HEADER, challenge);
  return {
    metadata,
    problem: (response) => {
      const proof = String(response?.get(MASTER_PROOF_HEADER)[0] ?? '');
      if (!proof) return 'its answer carries no proof of the cluster secret (it has none, or is not a broker of this cluster)';
      const expected = Buffer.from(proofOf(clusterSecret, brokerName, challenge), 'hex');
      const given = Buffer.from(proof, 'hex');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return `its proof does not match this broker's cluster secret and group ${brokerName}`;
      return undefined;
    },
  };
}
