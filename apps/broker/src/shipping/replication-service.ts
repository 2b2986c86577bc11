// rmq.replication.v1.ReplicationService on the broker's gRPC port: DescribeLog and Follow,
// answered only while this broker is a master of its group (a slave, or a master of another
// group, gets a clear refusal). One LogShipper per Follow stream.
import * as grpc from '@grpc/grpc-js';
import { RmqError, withTimeout } from '@rmq/base';
import { answerMasterChallenge, replication, reply, toRmqError, toServiceError, unaryHandlers, type ServiceHandlers } from '@rmq/contracts';
import type { Logger } from '@rmq/observability';
import type { MessageStore } from '@rmq/store';
import { subscribeProblem } from './follow-plan';
import { LogShipper } from './log-shipper';
import { REPLICATION_LIMITS } from './limits';
import type { ReplicationMaster } from './replication-master';

export interface ReplicationServiceDeps {
  brokerName: string;
  store: MessageStore;
  /** The master side while this broker is master; undefined while it is a slave. */
  master: () => ReplicationMaster | undefined;
  epoch: () => number;
  log: Logger;
  /** With one, the master answers a slave's challenge with proof that it holds it (master-proof.ts). */
  clusterSecret?: string;
  /** A slave wrote a shipped stretch (message tracing's replicate spans). */
  onReplicaCopied?: (replicaId: string, startedAtMs: number, durationMs: number, sizeBytes: number) => void;
}

type Service = typeof replication.ReplicationService.method;
type FollowCall = grpc.ServerDuplexStream<replication.FollowRequest, replication.FollowResponse>;

export function replicationService(deps: ReplicationServiceDeps): ServiceHandlers<Service> {
  const unary = unaryHandlers<Service>({
    describeLog: async (request, call) => {
      const master = requireMasterFor(deps, request.brokerName);
      const view = master.logView();
      const proof = deps.clusterSecret && answerMasterChallenge(deps.clusterSecret, call.metadata, deps.brokerName);
      if (proof) call.sendMetadata(proof);
      return reply(replication.DescribeLogResponseSchema, {
        brokerName: deps.brokerName,
        epoch: BigInt(master.epoch),
        epochs: view.epochs.map((entry) => ({ epoch: BigInt(entry.epoch), startLogOffset: BigInt(entry.startLogOffset) })),
        logMinOffset: BigInt(view.minLogOffset),
        logEndOffset: BigInt(view.endLogOffset),
        committedLogOffset: BigInt(view.committedLogOffset),
        segmentSizeBytes: BigInt(deps.store.segmentSizeBytes),
      });
    },
  }, (message, fields) => deps.log.error(message, fields));
  return { ...unary, follow: (call: FollowCall) => void follow(call, deps) } as ServiceHandlers<Service>;
}

async function follow(call: FollowCall, deps: ReplicationServiceDeps): Promise<void> {
  const proof = deps.clusterSecret && answerMasterChallenge(deps.clusterSecret, call.metadata, deps.brokerName);
  if (proof) call.sendMetadata(proof);
  const fail = (error: unknown) => {
    if (call.cancelled || call.destroyed) return;
    call.emit('error', toServiceError(toRmqError(error, (message, fields) => deps.log.error(message, fields))));
  };
  let subscribe: replication.Subscribe;
  try {
    subscribe = await withTimeout(firstMessage(call), REPLICATION_LIMITS.masterSilenceMsMax, 'the Subscribe message of a Follow stream');
  } catch (error) {
    return fail(error instanceof RmqError ? error : new RmqError('BAD_REQUEST', { reason: (error as Error).message }));
  }
  let master: ReplicationMaster;
  const from = Number(subscribe.fromLogOffset);
  try {
    master = requireMasterFor(deps, subscribe.brokerName);
    if (Number(subscribe.segmentSizeBytes) !== deps.store.segmentSizeBytes) {
      throw new RmqError('BAD_REQUEST', { reason: `the slave cuts its log into segments of ${subscribe.segmentSizeBytes} bytes, the master into ${deps.store.segmentSizeBytes}; use the same --segment-size-mib` });
    }
    if (!subscribe.replicaId) throw new RmqError('BAD_REQUEST', { reason: 'Subscribe needs a replica id' });
    const epochs = subscribe.epochs.map((entry) => ({ epoch: Number(entry.epoch), startLogOffset: Number(entry.startLogOffset) }));
    const problem = subscribeProblem(from, epochs, master.logView());
    if (problem) throw new RmqError('BAD_REQUEST', { reason: `cannot ship from log offset ${from}: ${problem}` });
  } catch (error) {
    return fail(error);
  }
  const replicaId = subscribe.replicaId;
  const onReplicaCopied = deps.onReplicaCopied;
  const shipper = new LogShipper(call, deps.store, master, from, onReplicaCopied && ((startedAtMs, durationMs, sizeBytes) => onReplicaCopied(replicaId, startedAtMs, durationMs, sizeBytes)));
  const close = () => shipper.close();
  master.attach(replicaId, close);
  call.on('data', (request: replication.FollowRequest) => {
    if (request.kind.case !== 'progress') return;
    const written = Number(request.kind.value.writtenLogOffset);
    shipper.acknowledged(written);
    master.onProgress(replicaId, written, Number(request.kind.value.durableLogOffset));
  });
  call.on('end', close);
  call.on('error', close);
  call.on('cancelled', close);
  try {
    await shipper.run();
    if (!call.cancelled && !call.destroyed) call.end();
  } catch (error) {
    fail(error);
  } finally {
    master.detach(replicaId, close);
  }
}

function requireMasterFor(deps: ReplicationServiceDeps, brokerName: string): ReplicationMaster {
  if (brokerName !== deps.brokerName) throw new RmqError('BAD_REQUEST', { reason: `this broker belongs to group ${deps.brokerName}, not ${brokerName}` });
  const master = deps.master();
  if (!master) throw new RmqError('NOT_MASTER', { brokerName: deps.brokerName, epoch: deps.epoch() });
  return master;
}

function firstMessage(call: FollowCall): Promise<replication.Subscribe> {
  return new Promise((resolve, reject) => {
    const onData = (request: replication.FollowRequest) => {
      cleanup();
      if (request.kind.case === 'subscribe') resolve(request.kind.value);
      else reject(new RmqError('BAD_REQUEST', { reason: 'the first message of a Follow stream must be a Subscribe' }));
    };
    const onEnd = () => {
      cleanup();
      reject(new RmqError('BAD_REQUEST', { reason: 'the Follow stream ended before its Subscribe' }));
    };
    const cleanup = () => {
      call.off('data', onData);
      call.off('end', onEnd);
    };
    call.on('data', onData);
    call.on('end', onEnd);
  });
}
