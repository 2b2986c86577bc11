// What /health says about the broker's peers: a slave without a master it can follow (none
// known, or unreachable) and a broker that lost its controllers, each once it has lasted longer
// than a bound (a failover or a restart takes a few seconds and is no reason to page anyone);
// a slave whose master did not prove the cluster secret at once.
// The decision is pure (peerProblems); PeerHealth samples the conditions on a timer, so how long
// one has held does not depend on how often /health is read.
import type { Clock } from '@rmq/base';
import type { RoleStatus } from './shipping/replica-role';

/** How often the conditions are sampled; a condition is seen this late at most. */
const SAMPLE_INTERVAL_MS = 500;

/** Remembers since when a condition has held without a break. */
export class LastingCondition {
  private sinceMs: number | undefined;

  /** Records one sample; returns how long the condition has held (0 when it does not hold). */
  observe(holds: boolean, nowMs: number): number {
    if (!holds) {
      this.sinceMs = undefined;
      return 0;
    }
    this.sinceMs ??= nowMs;
    return nowMs - this.sinceMs;
  }
}

export interface PeerView {
  replication: RoleStatus;
  /** With --controller: the leader last answered and when (undefined: never). */
  controller?: { leader: string | undefined; lastContactMs: number | undefined; addresses: readonly string[] };
}

/** The problems a broker's peers give it now; `masterLostForMs` comes from a LastingCondition. */
export function peerProblems(view: PeerView, masterLostForMs: number, nowMs: number, startedAtMs: number, boundMs: number): string[] {
  const problems: string[] = [];
  const replication = view.replication;
  // Not a passing state to wait out: the slave was pointed at a broker without the cluster secret.
  if (replication.role === 'slave' && replication.masterUnproven) problems.push(`master not proven: ${replication.masterUnproven}`);
  else if (replication.role === 'slave' && masterLostForMs > boundMs) {
    const seconds = Math.round(masterLostForMs / 1000);
    problems.push(replication.masterEndpoint
      ? `no master: cannot follow ${replication.masterEndpoint} for ${seconds} s${replication.lastError ? ` (${replication.lastError})` : ''}`
      : `no master: no master known to follow for ${seconds} s`);
  }
  if (view.controller) {
    const { lastContactMs, leader, addresses } = view.controller;
    const silentMs = nowMs - (lastContactMs ?? startedAtMs);
    if (silentMs > boundMs) {
      const since = lastContactMs === undefined ? 'since the broker started' : `for ${Math.round(silentMs / 1000)} s (last: ${leader ?? addresses.join(',')})`;
      problems.push(`lost controller: no controller of ${addresses.join(',')} answered a heartbeat ${since}`);
    }
  }
  return problems;
}

export class PeerHealth {
  private readonly masterLost = new LastingCondition();
  private masterLostForMs = 0;
  private readonly startedAtMs: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: { view: () => PeerView; clock: Clock; boundMs: number }) {
    this.startedAtMs = options.clock.nowMs();
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  problems(): string[] {
    const view = this.sample();
    return peerProblems(view, this.masterLostForMs, this.options.clock.nowMs(), this.startedAtMs, this.options.boundMs);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private sample(): PeerView {
    const view = this.options.view();
    const replication = view.replication;
    this.masterLostForMs = this.masterLost.observe(replication.role === 'slave' && !replication.connected, this.options.clock.nowMs());
    return view;
  }
}
