// The results of `rmq bench`: one row per phase, as a table for a person or as JSON.

export interface PhaseResult {
  phase: 'produce' | 'consume' | 'e2e';
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  megabytesPerSecond: number;
  /** produce: send -> stored ack; consume: none; e2e: send -> delivered. Milliseconds. */
  latencyMs: { p50: number; p99: number; p999: number } | undefined;
  clientCpuPercent: number;
  brokerCpuPercent: number;
  /** Broker CPU per message in microseconds (NaN without a broker CPU reading). */
  brokerCpuUsPerMessage: number;
  /** Phase-specific facts (e2e: lost and duplicate counts, the paced rate). */
  notes: string;
}

const fmt = (value: number, digits = 0) => (Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');

export function resultTable(results: readonly PhaseResult[]): string {
  const header = ['phase', 'msgs', 'msgs/s', 'MB/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'client CPU%', 'broker CPU%', 'broker µs/msg', 'notes'];
  const rows = results.map((r) => [
    r.phase,
    fmt(r.messages),
    fmt(r.messagesPerSecond),
    fmt(r.megabytesPerSecond, 1),
    fmt(r.latencyMs?.p50 ?? NaN, 2),
    fmt(r.latencyMs?.p99 ?? NaN, 2),
    fmt(r.latencyMs?.p999 ?? NaN, 2),
    fmt(r.clientCpuPercent),
    fmt(r.brokerCpuPercent),
    fmt(r.brokerCpuUsPerMessage, 1),
    r.notes,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 || column === cells.length - 1 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ').trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

export function resultJson(settings: Record<string, unknown>, results: readonly PhaseResult[]): string {
  const finite = (value: number) => (Number.isFinite(value) ? value : null);
  return JSON.stringify(
    {
      settings,
      results: results.map((r) => ({
        ...r,
        clientCpuPercent: finite(r.clientCpuPercent),
        brokerCpuPercent: finite(r.brokerCpuPercent),
        brokerCpuUsPerMessage: finite(r.brokerCpuUsPerMessage),
        latencyMs: r.latencyMs && { p50: finite(r.latencyMs.p50), p99: finite(r.latencyMs.p99), p999: finite(r.latencyMs.p999) },
      })),
    },
    null,
    2,
  );
}
