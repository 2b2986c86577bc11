// A producer's view of each broker's health: a broker whose send failed is avoided for a while
// that doubles with each further failure (and ends with the first success); a broker whose
// latency is far above the fastest one's is avoided too, but still gets one probe in
// PROBE_EVERY selections so that it can show it has recovered. No I/O: time comes in as nowMs.
import { AVOID_MS_INITIAL, AVOID_MS_MAX, LATENCY_EWMA_WEIGHT, SLOW_FACTOR, SLOW_LATENCY_MS_MIN, SLOW_PROBE_EVERY } from './limits';

interface Health {
  failures: number;
  avoidUntilMs: number;
  latencyMsEwma?: number;
  selectionsSinceProbe: number;
}

export class BrokerHealth {
  private readonly brokers = new Map<string, Health>();

  failed(brokerName: string, nowMs: number): void {
    const health = this.of(brokerName);
    health.failures++;
    health.avoidUntilMs = nowMs + Math.min(AVOID_MS_MAX, AVOID_MS_INITIAL * 2 ** (health.failures - 1));
  }

  succeeded(brokerName: string, latencyMs: number, _nowMs: number): void {
    const health = this.of(brokerName);
    health.failures = 0;
    health.avoidUntilMs = 0;
    health.latencyMsEwma = health.latencyMsEwma === undefined ? latencyMs : health.latencyMsEwma + LATENCY_EWMA_WEIGHT * (latencyMs - health.latencyMsEwma);
  }

  /** Brokers to avoid for the next selection; a slow broker drops out of it once per probe. */
  avoided(nowMs: number): Set<string> {
    const latencies = [...this.brokers.values()].map((health) => health.latencyMsEwma).filter((value): value is number => value !== undefined);
    const fastestMs = latencies.length > 0 ? Math.min(...latencies) : 0;
    const avoided = new Set<string>();
    for (const [brokerName, health] of this.brokers) {
      if (health.avoidUntilMs > nowMs) {
        avoided.add(brokerName);
        continue;
      }
      const slow = health.latencyMsEwma !== undefined && health.latencyMsEwma > SLOW_LATENCY_MS_MIN && health.latencyMsEwma > SLOW_FACTOR * fastestMs;
      if (slow && ++health.selectionsSinceProbe < SLOW_PROBE_EVERY) avoided.add(brokerName);
      else health.selectionsSinceProbe = 0;
    }
    return avoided;
  }

  private of(brokerName: string): Health {
    let health = this.brokers.get(brokerName);
    if (!health) this.brokers.set(brokerName, (health = { failures: 0, avoidUntilMs: 0, selectionsSinceProbe: 0 }));
    return health;
  }
}
