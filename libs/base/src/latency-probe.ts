// Debug only: timestamps along a message's path through the broker, for a sample of the records
// stored (every Nth), keyed by log offset: its send call reaching the producer → reserved → batch cut → written → fdatasync issued →
// synced → committed → send answered; then, if a receive delivers it, the receive's wake and
// resumption → the start of the look that found it → claimed → delivery records written →
// frames written. Also every group commit's write and fdatasync time, event-loop delay and GC
// pauses. Off unless RMQ_LATENCY_PROBE=<N> is set (then a report goes to RMQ_LATENCY_PROBE_OUT,
// default stderr, when the process exits; %p in it becomes the process id).
// performance.now() here is for measurement only, never for a decision.
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';

export const PROBE_STAGES = [
  'reserved', 'batchCut', 'written', 'syncIssued', 'synced', 'committed', 'sendAnswered',
  'woken', 'receiveResumed', 'lookStarted', 'claimed', 'deliveryWritten', 'framesWritten',
  'sendStarted', // marked once the record exists, with the time its send call reached the producer (after decoding)
] as const;
/** The intervals reported: each from one stage to another of the same record. */
const INTERVALS: [ProbeStage, ProbeStage][] = [
  ['sendStarted', 'reserved'], ['sendStarted', 'sendAnswered'], ['reserved', 'batchCut'], ['batchCut', 'written'], ['written', 'syncIssued'], ['syncIssued', 'synced'], ['synced', 'committed'],
  ['committed', 'sendAnswered'], ['committed', 'woken'], ['woken', 'receiveResumed'], ['committed', 'lookStarted'],
  ['lookStarted', 'claimed'], ['claimed', 'deliveryWritten'], ['deliveryWritten', 'framesWritten'],
  ['reserved', 'committed'], ['committed', 'framesWritten'], ['reserved', 'framesWritten'],
];
export type ProbeStage = (typeof PROBE_STAGES)[number];
const STAGE_INDEX = new Map<ProbeStage, number>(PROBE_STAGES.map((stage, index) => [stage, index]));
/** A delivered record's path in order, for splitting the slowest ones by step (a step whose end is unmarked joins the next). */
const PATH: ProbeStage[] = ['sendStarted', 'reserved', 'batchCut', 'written', 'syncIssued', 'synced', 'committed', 'woken', 'receiveResumed', 'lookStarted', 'claimed', 'deliveryWritten', 'framesWritten'];
const ROWS_MAX = 200_000;

export class LatencyProbe {
  private readonly rows = new Map<number, Float64Array>();
  private reservations = 0;
  private readonly commits: { records: number; syncMs: number; gapMs: number; startedMs: number; syncedMs: number; afterWaiting: boolean }[] = [];
  /** Whether appends waited (pending or written) when the last fdatasync's end was seen. */
  private lastCommitLeftWaiting = false;
  /** Other flushes of the process's files (checkpoint, queue files, state files): to tell which log fdatasyncs they overlapped. */
  private readonly otherSyncs: { kind: string; startedMs: number; endedMs: number }[] = [];
  private lastCommitEndMs = 0;
  private readonly gcPausesMs: number[] = [];
  /** When each GC pause ran: an fdatasync's completion waits for the event loop, so a pause lengthens it as measured. */
  private readonly gcIntervals: { startedMs: number; endedMs: number }[] = [];
  /** The same pauses by kind (scavenge, mark-compact, incremental marking, weak callbacks). */
  private readonly gcPausesMsByKind = new Map<string, number[]>();
  private readonly counters = new Map<string, number>();
  private loopDelay: IntervalHistogram | undefined;

  constructor(readonly every: number) {}

  get enabled(): boolean {
    return this.every > 0;
  }

  /** Called for each record reserved: true when this one is sampled (its row starts now). */
  sample(logOffset: number): boolean {
    if (this.every <= 0 || this.reservations++ % this.every !== 0 || this.rows.size >= ROWS_MAX) return false;
    const row = new Float64Array(PROBE_STAGES.length).fill(Number.NaN);
    row[0] = performance.now();
    this.rows.set(logOffset, row);
    return true;
  }

  /** Marks `stage` of a sampled record (the first mark of a stage counts). */
  mark(logOffset: number, stage: ProbeStage, atMs = performance.now()): void {
    const row = this.rows.get(logOffset);
    if (!row) return;
    const index = STAGE_INDEX.get(stage)!;
    if (Number.isNaN(row[index])) row[index] = atMs;
  }

  /** Counts an event (e.g. a receive's look that found nothing). */
  count(name: string): void {
    if (this.every > 0) this.counters.set(name, (this.counters.get(name) ?? 0) + 1);
  }

  has(logOffset: number): boolean {
    return this.rows.has(logOffset);
  }

  /**
   * One fdatasync of the log: the records it made durable, when it started and ended (idle time:
   * since the last ended), and whether appends were waiting for the next one when its end was seen
   * (then the idle time before the next is the hand-off: answers and wakes run before it starts).
   */
  commit(records: number, startedMs: number, syncedMs: number, leftWaiting = false): void {
    if (this.every <= 0) return;
    const gapMs = this.lastCommitEndMs ? startedMs - this.lastCommitEndMs : 0;
    this.commits.push({ records, syncMs: syncedMs - startedMs, gapMs, startedMs, syncedMs, afterWaiting: this.lastCommitLeftWaiting });
    this.lastCommitEndMs = syncedMs;
    this.lastCommitLeftWaiting = leftWaiting;
  }

  /** Times `operation` (a flush of a file other than the log: `kind` names it) when the probe is on. */
  timeSync<T>(kind: string, operation: () => Promise<T>): Promise<T> {
    if (this.every <= 0) return operation();
    const startedMs = performance.now();
    return operation().finally(() => this.otherSyncs.push({ kind, startedMs, endedMs: performance.now() }));
  }

  /** Starts the event-loop and GC monitors and the report at exit. */
  start(out: string | undefined): void {
    this.loopDelay = monitorEventLoopDelay({ resolution: 1 });
    this.loopDelay.enable();
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.gcPausesMs.push(entry.duration);
        this.gcIntervals.push({ startedMs: entry.startTime, endedMs: entry.startTime + entry.duration });
        const kind = GC_KINDS.get((entry as { detail?: { kind?: number } }).detail?.kind ?? 0) ?? 'other';
        let pauses = this.gcPausesMsByKind.get(kind);
        if (!pauses) this.gcPausesMsByKind.set(kind, (pauses = []));
        pauses.push(entry.duration);
      }
    }).observe({ entryTypes: ['gc'] });
    process.on('exit', () => {
      const text = this.report();
      if (out) writeFileSync(out, text);
      else process.stderr.write(text);
    });
  }

  report(): string {
    const lines: string[] = [];
    const rows = [...this.rows.values()];
    const delivered = rows.filter((row) => !Number.isNaN(row[STAGE_INDEX.get('framesWritten')!]));
    lines.push(`latency probe: ${rows.length} records sampled (every ${this.every}), ${delivered.length} of them delivered`);
    lines.push('intervals, ms (records with both stages marked; negative: the second came first):');
    for (const [label, set] of [['all sampled', rows], ['delivered', delivered]] as const) {
      lines.push(`  ${label}:`);
      for (const [from, to] of INTERVALS) {
        const a = STAGE_INDEX.get(from)!;
        const b = STAGE_INDEX.get(to)!;
        const deltas = set.filter((row) => !Number.isNaN(row[a]) && !Number.isNaN(row[b])).map((row) => row[b] - row[a]);
        if (deltas.length > 0) lines.push(`    ${`${from} → ${to}`.padEnd(34)} ${summary(deltas)}`);
      }
    }
    lines.push(...slowestReport(delivered));
    if (this.commits.length > 0) {
      lines.push(`group commits: ${this.commits.length}`);
      lines.push(`  records per commit ${summary(this.commits.map((c) => c.records), 0)}`);
      lines.push(`  fdatasync ms       ${summary(this.commits.map((c) => c.syncMs))}`);
      lines.push(`  idle before ms     ${summary(this.commits.map((c) => c.gapMs))}`);
      const handOffs = this.commits.filter((c) => c.afterWaiting).map((c) => c.gapMs);
      if (handOffs.length > 0) lines.push(`  idle before ms, appends waiting when the last ended (the hand-off) ${summary(handOffs)}`);
      lines.push(...this.overlapReport());
      lines.push(...this.gcOverlapReport());
    }
    if (this.counters.size > 0) lines.push(`counts: ${[...this.counters].map(([name, count]) => `${name} ${count}`).join(', ')}`);
    if (this.loopDelay) {
      const h = this.loopDelay;
      lines.push(`event-loop delay ms: p50 ${(h.percentile(50) / 1e6).toFixed(2)} p99 ${(h.percentile(99) / 1e6).toFixed(2)} max ${(h.max / 1e6).toFixed(2)}`);
    }
    if (this.gcPausesMs.length > 0) {
      const total = this.gcPausesMs.reduce((sum, ms) => sum + ms, 0);
      lines.push(`GC pauses: ${this.gcPausesMs.length}, ${total.toFixed(0)} ms in all; ${summary(this.gcPausesMs)}`);
      for (const [kind, pauses] of this.gcPausesMsByKind) {
        lines.push(`  ${kind.padEnd(12)} ${pauses.reduce((sum, ms) => sum + ms, 0).toFixed(0)} ms in all; ${summary(pauses)}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }

  /** The log's fdatasyncs split by whether a GC pause ran between their start and the loop seeing them end. */
  private gcOverlapReport(): string[] {
    const pauses = [...this.gcIntervals].sort((a, b) => a.startedMs - b.startedMs);
    const threshold = [...this.commits].map((c) => c.syncMs).sort((a, b) => b - a)[Math.ceil(this.commits.length / 100) - 1] ?? Infinity;
    const during: number[] = [];
    const without: number[] = [];
    let slowDuring = 0;
    let first = 0;
    for (const commit of this.commits) {
      while (first < pauses.length && pauses[first].endedMs < commit.startedMs - 1_000) first++;
      let overlapped = false;
      for (let i = first; i < pauses.length && pauses[i].startedMs < commit.syncedMs && !overlapped; i++) overlapped = pauses[i].endedMs > commit.startedMs;
      (overlapped ? during : without).push(commit.syncMs);
      if (overlapped && commit.syncMs >= threshold) slowDuring++;
    }
    return [
      `  fdatasync ms, a GC pause within it        ${during.length > 0 ? summary(during) : 'n 0'}`,
      `  fdatasync ms, no GC pause within it       ${without.length > 0 ? summary(without) : 'n 0'}`,
      `  the slowest 1% (≥ ${threshold.toFixed(3)} ms): ${slowDuring} had a GC pause within them`,
    ];
  }

  /** The log's fdatasyncs split by the other flushes that overlapped them (any part of one within the other). */
  private overlapReport(): string[] {
    if (this.otherSyncs.length === 0) return ['  no other flush timed'];
    const others = [...this.otherSyncs].sort((a, b) => a.startedMs - b.startedMs);
    const byKind = new Map<string, number[]>();
    const alone: number[] = [];
    const overlapped: number[] = [];
    const after: number[] = []; // started within AFTER_MS of another flush's end: an indirect effect (the journal) would show here
    const slowest = [...this.commits].sort((a, b) => b.syncMs - a.syncMs).slice(0, Math.ceil(this.commits.length / 100));
    const slowThresholdMs = slowest.length > 0 ? slowest[slowest.length - 1].syncMs : Infinity;
    let slowNear = 0;
    let first = 0; // others ending before a commit starts never overlap a later commit (commits come in start order)
    for (const commit of this.commits) {
      while (first < others.length && others[first].endedMs < commit.startedMs - 1_000) first++;
      const kinds = new Set<string>();
      let near = false;
      for (let i = first; i < others.length && others[i].startedMs < commit.syncedMs; i++) {
        if (others[i].endedMs > commit.startedMs) kinds.add(others[i].kind);
        else if (commit.startedMs - others[i].endedMs < AFTER_MS) near = true;
      }
      (kinds.size > 0 ? overlapped : near ? after : alone).push(commit.syncMs);
      if ((kinds.size > 0 || near) && commit.syncMs >= slowThresholdMs) slowNear++;
      for (const kind of kinds) {
        let list = byKind.get(kind);
        if (!list) byKind.set(kind, (list = []));
        list.push(commit.syncMs);
      }
    }
    const lines = [`  fdatasync ms, no other flush overlapping or ${AFTER_MS} ms before  ${alone.length > 0 ? summary(alone) : 'n 0'}`];
    lines.push(`  fdatasync ms, another flush overlapping   ${overlapped.length > 0 ? summary(overlapped) : 'n 0'}`);
    lines.push(`  fdatasync ms, another flush ended < ${AFTER_MS} ms before  ${after.length > 0 ? summary(after) : 'n 0'}`);
    lines.push(`  the slowest 1% (${slowest.length}, ≥ ${slowThresholdMs.toFixed(3)} ms): ${slowNear} overlapped or followed another flush`);
    for (const [kind, list] of byKind) lines.push(`    overlapped by ${kind.padEnd(24)} ${summary(list)}`);
    const kinds = new Map<string, number[]>();
    for (const other of others) {
      let list = kinds.get(other.kind);
      if (!list) kinds.set(other.kind, (list = []));
      list.push(other.endedMs - other.startedMs);
    }
    for (const [kind, list] of kinds) lines.push(`  other flush ${kind.padEnd(26)} ms ${summary(list)}`);
    return lines;
  }
}

/**
 * The slowest 1% of the delivered records (send call in the producer → frames written), split by
 * step: each step's mean and p50 over them, and for how many that step was the longest.
 */
export function slowestReport(delivered: Float64Array[]): string[] {
  const first = STAGE_INDEX.get('sendStarted')!;
  const last = STAGE_INDEX.get('framesWritten')!;
  const whole = delivered.filter((row) => !Number.isNaN(row[first]));
  if (whole.length === 0) return [];
  const total = (row: Float64Array) => row[last] - row[first];
  const slowest = [...whole].sort((a, b) => total(b) - total(a)).slice(0, Math.ceil(whole.length / 100));
  const steps = new Map<string, { ms: number[]; longest: number }>();
  for (const row of slowest) {
    let from = PATH[0];
    let longest = '';
    let longestMs = -1;
    const parts: [string, number][] = [];
    for (const stage of PATH.slice(1)) {
      const at = row[STAGE_INDEX.get(stage)!];
      if (Number.isNaN(at)) continue;
      parts.push([`${from} → ${stage}`, at - row[STAGE_INDEX.get(from)!]]);
      from = stage;
    }
    for (const [name, ms] of parts) if (ms > longestMs) [longest, longestMs] = [name, ms];
    for (const [name, ms] of parts) {
      let step = steps.get(name);
      if (!step) steps.set(name, (step = { ms: [], longest: 0 }));
      step.ms.push(ms);
      if (name === longest) step.longest++;
    }
  }
  const threshold = total(slowest[slowest.length - 1]);
  const lines = [`the slowest 1% (${slowest.length} of ${whole.length} delivered, send call → frames written ≥ ${threshold.toFixed(3)} ms), by step:`];
  const order = (name: string) => PATH.indexOf(name.split(' → ')[0] as ProbeStage) * 100 + PATH.indexOf(name.split(' → ')[1] as ProbeStage);
  for (const [name, { ms, longest }] of [...steps].sort((a, b) => order(a[0]) - order(b[0]))) {
    const mean = ms.reduce((sum, value) => sum + value, 0) / ms.length;
    lines.push(`    ${name.padEnd(34)} mean ${mean.toFixed(3)} ${summary(ms)}; the longest step of ${longest}`);
  }
  return lines;
}

/** How soon after another flush ended an fdatasync of the log counts as following it. */
const AFTER_MS = 20;

/** perf_hooks' GC entry kinds (constants.NODE_PERFORMANCE_GC_*). */
const GC_KINDS = new Map([[1, 'scavenge'], [4, 'mark-compact'], [8, 'incremental'], [16, 'weak']]);

function summary(values: number[], digits = 3): string {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))].toFixed(digits);
  return `n ${sorted.length} p50 ${at(50)} p90 ${at(90)} p99 ${at(99)} max ${sorted[sorted.length - 1].toFixed(digits)}`;
}

/** The process's probe: off unless RMQ_LATENCY_PROBE is a positive number (sample every Nth record). */
export const latencyProbe = new LatencyProbe(Number(process.env['RMQ_LATENCY_PROBE'] ?? 0) || 0);
if (latencyProbe.enabled) latencyProbe.start(process.env['RMQ_LATENCY_PROBE_OUT']?.replace('%p', String(process.pid)));
