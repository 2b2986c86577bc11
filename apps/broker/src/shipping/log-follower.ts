// The slave's follow loop: asks the master for its epochs and log range, brings its own log to a
// point both share (cut back after a divergence, or start over at the master's oldest segment),
// then follows the master's Follow stream: every batch is appended byte for byte
// (appendReplicated), a batch of a newer epoch is recorded in the epoch file first, progress goes
// back after each append, and the master's committed offset is what this store exposes to
// readers. Any failure drops the stream; it reconnects with exponential backoff.
import { delay, RmqError } from '@rmq/base';
import { create, createClient, replication, type MasterChallenge, type PeerLink, type ServiceClient } from '@rmq/contracts';
import type { Logger } from '@rmq/observability';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { EpochFile, MessageStore } from '@rmq/store';
import { planFollow } from './follow-plan';
import { describeProvenMaster, MasterNotProvenError, requireMasterProof } from './master-proof-check';
import { REPLICATION_LIMITS } from './limits';
import { openPlainFollow } from './plain-follow';

export interface LogFollowerOptions {
  store: MessageStore;
  epochs: EpochFile;
  brokerName: string;
  replicaId: string;
  /** This broker's own endpoint (told to the master, for status). */
  endpoint: string;
  masterEndpoint: string;
  /** TLS to the master and the cluster secret's signature on every call (the master refuses strangers). */
  peer?: PeerLink;
  log: Logger;
  /** After the log was cut back or started over: what was built from the cut part is rebuilt (broker state). */
  onLogCut?: () => Promise<void>;
  /** The Follow stream over plain HTTP/2 instead of grpc-js (plain-follow.ts): only without TLS, cluster secret and tracing. */
  plainFollow?: boolean;
}

export interface FollowerStatus {
  masterEndpoint: string;
  connected: boolean;
  masterEndLogOffset: number;
  masterCommittedLogOffset: number;
  lagBytes: number;
  /** Why the last attempt to follow failed (for /health), until the next batch arrives. */
  lastError?: string;
  /** Set while the master did not prove it holds the cluster secret: nothing is copied from it. */
  masterUnproven?: string;
}

/**
 * HTTP/2's default receive window (64 KiB) would make the master wait for a window update from
 * this process every 64 KiB of a batch of up to 1 MiB: a round trip through both event loops, many
 * per batch. The window covers what the master may have unacknowledged (its own bound), so only
 * that bound holds the master back.
 */
const FOLLOW_WINDOW_BYTES = REPLICATION_LIMITS.unackedBytesMax + REPLICATION_LIMITS.batchBytesMax;
const FOLLOW_CHANNEL_OPTIONS = { 'grpc-node.flow_control_window': FOLLOW_WINDOW_BYTES };

type Client = ServiceClient<typeof replication.ReplicationService.method>;
/** What the follow loop uses of a Follow call: grpc-js's ClientDuplexStream, or a PlainBidiCall. */
type FollowStream = Pick<ClientDuplexStream<replication.FollowRequest, replication.FollowResponse>, 'write' | 'cancel' | 'on'>;

export class LogFollower {
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private connected = false;
  private masterEnd = 0;
  private masterCommitted = 0;
  private lastError: string | undefined;
  private masterUnproven: string | undefined;

  constructor(private readonly options: LogFollowerOptions) {}

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('the follower stopped'));
    await this.running;
  }

  status(): FollowerStatus {
    const written = this.options.store.writtenLogOffset;
    return { masterEndpoint: this.options.masterEndpoint, connected: this.connected, masterEndLogOffset: this.masterEnd, masterCommittedLogOffset: this.masterCommitted, lagBytes: Math.max(0, this.masterEnd - written), ...(this.lastError ? { lastError: this.lastError } : {}), ...(this.masterUnproven ? { masterUnproven: this.masterUnproven } : {}) };
  }

  private async loop(): Promise<void> {
    let backoffMs: number = REPLICATION_LIMITS.reconnectDelayMsMin;
    while (!this.abort.signal.aborted) {
      const client = createClient(replication.ReplicationService, this.options.masterEndpoint, FOLLOW_CHANNEL_OPTIONS, this.options.peer?.credentials());
      try {
        await this.followOnce(client);
        backoffMs = REPLICATION_LIMITS.reconnectDelayMsMin;
      } catch (error) {
        if (this.abort.signal.aborted) break;
        this.lastError = (error as Error).message;
        if (error instanceof MasterNotProvenError) {
          this.masterUnproven = error.message;
          this.options.log.error('refusing to follow: the master did not prove it holds the cluster secret; nothing is copied from it', { master: this.options.masterEndpoint, problem: error.problem, retryInMs: backoffMs });
        } else {
          this.options.log.warn('following the master failed; retrying', { master: this.options.masterEndpoint, retryInMs: backoffMs, error: (error as Error).message });
        }
      } finally {
        this.connected = false;
        client.close();
      }
      try {
        await delay(backoffMs, this.abort.signal);
      } catch {
        break;
      }
      backoffMs = Math.min(backoffMs * 2, REPLICATION_LIMITS.reconnectDelayMsMax);
    }
  }

  private async followOnce(client: Client): Promise<void> {
    const { store, epochs, log, brokerName } = this.options;
    const described = await describeProvenMaster(client, { brokerName, masterEndpoint: this.options.masterEndpoint, peer: this.options.peer, signal: this.abort.signal });
    if (Number(described.segmentSizeBytes) !== store.segmentSizeBytes) {
      throw new RmqError('BAD_REQUEST', { reason: `the master cuts its log into segments of ${described.segmentSizeBytes} bytes, this broker into ${store.segmentSizeBytes}; use the same --segment-size-mib` });
    }
    const master = {
      epochs: described.epochs.map((entry) => ({ epoch: Number(entry.epoch), startLogOffset: Number(entry.startLogOffset) })),
      minLogOffset: Number(described.logMinOffset),
      endLogOffset: Number(described.logEndOffset),
    };
    const mine = { epochs: epochs.entries(), minLogOffset: store.stats().logMinOffset, endLogOffset: store.writtenLogOffset };
    const plan = planFollow(mine, master);
    if (plan.kind === 'restart') {
      log.warn('starting the log over at the master\'s oldest segment', { atLogOffset: plan.atLogOffset, myLog: [mine.minLogOffset, mine.endLogOffset], masterLog: [master.minLogOffset, master.endLogOffset] });
      await store.restartAt(plan.atLogOffset);
      await this.options.onLogCut?.();
    } else if (plan.kind === 'truncate') {
      log.warn('log diverged from the master\'s: cutting it back', { toLogOffset: plan.toLogOffset, fromLogOffset: mine.endLogOffset, myEpochs: mine.epochs, masterEpochs: master.epochs });
      await store.truncateTo(plan.toLogOffset);
      await this.options.onLogCut?.();
    }
    const from = store.writtenLogOffset;
    await epochs.truncateFrom(from - 1); // epochs starting here or later hold nothing in this log (yet)
    const challenge = this.options.peer?.challengeMaster?.(brokerName);
    const stream: FollowStream = this.options.plainFollow && !challenge
      ? openPlainFollow(this.options.masterEndpoint, this.abort.signal, FOLLOW_WINDOW_BYTES) as unknown as FollowStream
      : client.follow({ signal: this.abort.signal, metadata: challenge?.metadata ?? this.options.peer?.metadata() });
    stream.write(create(replication.FollowRequestSchema, { kind: { case: 'subscribe', value: { brokerName, replicaId: this.options.replicaId, fromLogOffset: BigInt(from), epochs: epochs.entries().map((entry) => ({ epoch: BigInt(entry.epoch), startLogOffset: BigInt(entry.startLogOffset) })), segmentSizeBytes: BigInt(store.segmentSizeBytes), endpoint: this.options.endpoint } } }));
    log.info('following the master', { master: this.options.masterEndpoint, fromLogOffset: from, plan: plan.kind });
    await this.consume(stream, challenge);
  }

  /** Applies batches in order until the stream ends or fails; appends overlap (group commit). */
  private consume(stream: FollowStream, challenge: MasterChallenge | undefined): Promise<void> {
    const { store } = this.options;
    return new Promise<void>((resolve, reject) => {
      let chain = Promise.resolve();
      let failed = false;
      let reported = { written: -1, durable: -1 };
      let silence: NodeJS.Timeout | undefined;
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        clearTimeout(silence);
        clearInterval(progressTimer);
        stream.cancel();
        reject(error);
      };
      const armSilence = () => {
        clearTimeout(silence);
        silence = setTimeout(() => fail(new Error(`the master sent nothing for ${REPLICATION_LIMITS.masterSilenceMsMax} ms`)), REPLICATION_LIMITS.masterSilenceMsMax);
      };
      const report = () => {
        const now = { written: store.writtenLogOffset, durable: store.durableLogOffset };
        if (failed || (now.written === reported.written && now.durable === reported.durable)) return;
        reported = now;
        stream.write(create(replication.FollowRequestSchema, { kind: { case: 'progress', value: { writtenLogOffset: BigInt(now.written), durableLogOffset: BigInt(now.durable) } } }));
        store.advanceCommitted(this.masterCommitted);
      };
      const progressTimer = setInterval(report, REPLICATION_LIMITS.progressIntervalMs); // async mode: durability comes later
      armSilence();
      // The response headers come before any batch; a batch before the proof is refused too.
      let proven = !challenge;
      stream.on('metadata', (headers) => {
        try {
          requireMasterProof(challenge, headers, this.options.masterEndpoint);
          proven = true;
        } catch (error) {
          fail(error);
        }
      });
      stream.on('data', (batch: replication.FollowResponse) => {
        if (!proven) return fail(new MasterNotProvenError(this.options.masterEndpoint, 'it shipped log data without proving the cluster secret'));
        armSilence();
        this.masterUnproven = undefined;
        this.connected = true;
        this.lastError = undefined;
        this.masterEnd = Number(batch.logEndOffset);
        chain = chain.then(() => this.apply(batch, report, fail)).catch(fail);
      });
      stream.on('error', fail);
      stream.on('end', () => fail(new Error('the master ended the stream')));
    });
  }

  private async apply(batch: replication.FollowResponse, report: () => void, fail: (error: unknown) => void): Promise<void> {
    const { store, epochs } = this.options;
    this.masterCommitted = Math.max(this.masterCommitted, Number(batch.committedLogOffset));
    if (batch.data.length === 0) {
      store.advanceCommitted(this.masterCommitted);
      return;
    }
    const epoch = Number(batch.epoch);
    const start = Number(batch.startLogOffset);
    const last = epochs.last();
    if (last && last.epoch > epoch) throw new RmqError('BAD_REQUEST', { reason: `the master shipped epoch ${epoch} at log offset ${start}, but this log is already in epoch ${last.epoch}` });
    if (!last || last.epoch < epoch) await epochs.begin(epoch, start); // the epoch is on disk before its first byte
    // Not awaited: the next batch is reserved behind this one, so their writes share a sync.
    store.appendReplicated(start, Buffer.from(batch.data.buffer, batch.data.byteOffset, batch.data.byteLength)).then(report, fail);
  }
}
