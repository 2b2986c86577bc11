// Reads one sample out of a Prometheus text exposition, matching a subset of its labels.
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/** An app's /metrics text (anything with an `http` endpoint); a non-200 answer is an error naming the app's address. */
export async function scrapeMetrics(app: { endpoints: Record<string, string> }): Promise<string> {
  const url = `http://${app.endpoints.http}/metrics`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`);
  return response.text();
}
