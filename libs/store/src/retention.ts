// Retention: which commit log segments to delete and whether appends must be refused. The
// decision is a pure function of the segments, the disk usage and the time; RetentionRunner does
// the I/O around it. Rules (RocketMQ's CleanCommitLogService, simplified):
//   - whole segments only, oldest first, never the active (last) one, never one holding records
//     the checkpoint has not covered yet (recovery must be able to replay from the checkpoint);
//   - a segment last written more than retentionMs ago goes;
//   - above the high-water disk usage, the oldest go even unexpired until usage is back under it;
//   - above the hard limit, appends are refused (STORE_FULL) until usage is back under it.
import { statfs } from 'node:fs/promises';
import { assert, RmqError, type Clock } from '@rmq/base';
import type { CommitLog, SegmentInfo } from './commit-log';
import { STORE_LIMITS } from './limits';

export type { SegmentInfo } from './commit-log';

export interface RetentionPolicy {
  retentionMs: number;
  diskUsageHighWaterRatio: number;
  diskUsageHardLimitRatio: number;
  deleteSegmentCountMax: number;
}

export interface DiskUsage {
  usedBytes: number;
  totalBytes: number;
}

export type RetentionReason = 'expired' | 'diskHighWater';

export interface RetentionInput {
  /** In log order; the last one is the active segment. */
  segments: readonly SegmentInfo[];
  diskUsage: DiskUsage;
  nowMs: number;
  /** Only segments that end at or below this may go (the checkpoint's dispatched log offset). */
  deletableBelowLogOffset: number;
  policy: RetentionPolicy;
}

export interface RetentionDecision {
  /** A prefix of the segments, oldest first. */
  deletions: { segment: SegmentInfo; reason: RetentionReason }[];
  usedRatio: number;
  /** The usage once the deletions are done (their bytes freed). */
  usedRatioAfter: number;
  refuseWrites: boolean;
}

export function usedRatioOf(usage: DiskUsage): number {
  return usage.totalBytes > 0 ? usage.usedBytes / usage.totalBytes : 0;
}

export function decideRetention(input: RetentionInput): RetentionDecision {
  const { segments, policy, nowMs } = input;
  const deletions: RetentionDecision['deletions'] = [];
  let usedBytes = input.diskUsage.usedBytes;
  const ratio = () => usedRatioOf({ usedBytes, totalBytes: input.diskUsage.totalBytes });
  for (let i = 0; i + 1 < segments.length && deletions.length < policy.deleteSegmentCountMax; i++) {
    const segment = segments[i];
    if (segments[i + 1].startLogOffset > input.deletableBelowLogOffset) break;
    let reason: RetentionReason;
    if (segment.lastModifiedMs + policy.retentionMs <= nowMs) reason = 'expired';
    else if (ratio() > policy.diskUsageHighWaterRatio) reason = 'diskHighWater';
    else break;
    deletions.push({ segment, reason });
    usedBytes = Math.max(0, usedBytes - segment.sizeBytes);
  }
  const usedRatioAfter = ratio();
  return { deletions, usedRatio: usedRatioOf(input.diskUsage), usedRatioAfter, refuseWrites: usedRatioAfter >= policy.diskUsageHardLimitRatio };
}

export function validatePolicy(policy: RetentionPolicy): void {
  assert(policy.retentionMs > 0, 'retentionMs must be positive', { ...policy });
  assert(policy.diskUsageHighWaterRatio > 0 && policy.diskUsageHighWaterRatio <= policy.diskUsageHardLimitRatio && policy.diskUsageHardLimitRatio <= 1,
    'disk usage ratios must satisfy 0 < high water <= hard limit <= 1', { ...policy });
  assert(Number.isInteger(policy.deleteSegmentCountMax) && policy.deleteSegmentCountMax > 0, 'deleteSegmentCountMax must be a positive whole number', { ...policy });
}

/** Usage of the file system holding `path`, counted like df: used / (used + available to us). */
export async function diskUsageOf(path: string): Promise<DiskUsage> {
  const stats = await statfs(path);
  const usedBytes = (stats.blocks - stats.bfree) * stats.bsize;
  return { usedBytes, totalBytes: usedBytes + stats.bavail * stats.bsize };
}

export type RetentionEvent =
  | { kind: 'segmentDeleted'; segmentStartLogOffset: number; sizeBytes: number; lastModifiedMs: number; reason: RetentionReason }
  | { kind: 'writesRefused'; usedRatio: number; hardLimitRatio: number }
  | { kind: 'writesResumed'; usedRatio: number }
  | { kind: 'retentionFailed'; error: unknown };

export interface RetentionStats {
  diskUsage?: DiskUsage & { usedRatio: number };
  writesRefused: boolean;
  deletedSegmentCount: number;
  deletedBytes: number;
  lastPassAtMs?: number;
}

export interface RetentionRunnerOptions {
  log: CommitLog;
  policy: RetentionPolicy;
  clock: Clock;
  diskUsage: () => Promise<DiskUsage>;
  deletableBelowLogOffset: () => number;
  /** Called after segments were deleted, with the log's new first offset. */
  onLogMinAdvanced: (minLogOffset: number) => Promise<void>;
  onEvent: (event: RetentionEvent) => void;
}

export class RetentionRunner {
  private refusal: RmqError | undefined;
  private running: Promise<RetentionDecision | undefined> | undefined;
  private readonly statsValue: RetentionStats = { writesRefused: false, deletedSegmentCount: 0, deletedBytes: 0 };

  constructor(private readonly options: RetentionRunnerOptions) {
    validatePolicy(options.policy);
  }

  /** The error appends get while the disk is past the hard limit. */
  get writeRefusal(): RmqError | undefined {
    return this.refusal;
  }

  stats(): RetentionStats {
    return { ...this.statsValue };
  }

  /**
   * One pass: measure, decide, delete. Passes never overlap (a call during a pass joins it).
   * A failure is reported as a 'retentionFailed' event and leaves the write refusal as it was;
   * the result is then undefined.
   */
  run(): Promise<RetentionDecision | undefined> {
    this.running ??= this.pass()
      .catch((error: unknown) => {
        this.options.onEvent({ kind: 'retentionFailed', error });
        return undefined;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Resolves when no pass is running. */
  async whenIdle(): Promise<void> {
    await this.running;
  }

  private async pass(): Promise<RetentionDecision> {
    const { log, policy, onEvent } = this.options;
    await log.releaseRetiredHandles();
    const segments = await log.segmentInfos();
    const diskUsage = await this.options.diskUsage();
    const decision = decideRetention({
      segments,
      diskUsage,
      nowMs: this.options.clock.nowMs(),
      deletableBelowLogOffset: this.options.deletableBelowLogOffset(),
      policy,
    });
    for (const { segment, reason } of decision.deletions) {
      await log.deleteOldestSegment(segment.startLogOffset);
      this.statsValue.deletedSegmentCount++;
      this.statsValue.deletedBytes += segment.sizeBytes;
      onEvent({ kind: 'segmentDeleted', segmentStartLogOffset: segment.startLogOffset, sizeBytes: segment.sizeBytes, lastModifiedMs: segment.lastModifiedMs, reason });
    }
    if (decision.deletions.length > 0) await this.options.onLogMinAdvanced(log.minOffset);
    this.statsValue.diskUsage = { ...diskUsage, usedRatio: decision.usedRatio };
    this.statsValue.lastPassAtMs = this.options.clock.nowMs();
    if (decision.refuseWrites) {
      const wasRefusing = this.refusal !== undefined;
      this.refusal = new RmqError('STORE_FULL', {
        reason: `disk usage is ${percent(decision.usedRatioAfter)}, at or past the hard limit of ${percent(policy.diskUsageHardLimitRatio)}`,
      });
      if (!wasRefusing) onEvent({ kind: 'writesRefused', usedRatio: decision.usedRatioAfter, hardLimitRatio: policy.diskUsageHardLimitRatio });
    } else if (this.refusal) {
      this.refusal = undefined;
      onEvent({ kind: 'writesResumed', usedRatio: decision.usedRatioAfter });
    }
    this.statsValue.writesRefused = this.refusal !== undefined;
    return decision;
  }
}

export function retentionPolicyOf(options: Partial<Omit<RetentionPolicy, 'deleteSegmentCountMax'>>): RetentionPolicy {
  return {
    retentionMs: options.retentionMs ?? STORE_LIMITS.retentionMsDefault,
    diskUsageHighWaterRatio: options.diskUsageHighWaterRatio ?? STORE_LIMITS.diskUsageHighWaterRatioDefault,
    diskUsageHardLimitRatio: options.diskUsageHardLimitRatio ?? STORE_LIMITS.diskUsageHardLimitRatioDefault,
    deleteSegmentCountMax: STORE_LIMITS.retentionDeleteSegmentCountMax,
  };
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}
