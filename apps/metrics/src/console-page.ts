// GET /: the console, a read-only page over /api/cluster. One self-contained HTML document (no
// build step, no external files): it polls the snapshot every two seconds and draws the
// topology (name server, broker groups with master and slaves, epochs), each consumer group's lag
// and in-flight messages, and per topic the produce rate, with small line charts of the last
// minutes. Everything it shows comes from the snapshot; rates are differences between two.
import type { Route } from '@rmq/observability';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rmq console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f7f8fa; }
  h1 { font-size: 1.3rem; margin: 0 0 .25rem; } h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  .muted { color: #6b7280; } .bad { color: #b91c1c; font-weight: 600; } .ok { color: #15803d; }
  .groups { display: flex; flex-wrap: wrap; gap: .75rem; }
  .card { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: .6rem .8rem; min-width: 14rem; }
  table { border-collapse: collapse; background: #fff; border: 1px solid #e5e7eb; }
  th, td { padding: .3rem .7rem; text-align: left; border-bottom: 1px solid #eef0f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
  svg { display: block; } polyline { fill: none; stroke: #2563eb; stroke-width: 1.5; }
</style></head>
<body>
<h1>rmq console</h1>
<div id="status" class="muted">waiting for the first poll ...</div>
<h2>Topology</h2>
<div id="nameserver"></div>
<div id="brokers" class="groups"></div>
<h2>Consumer groups</h2>
<table id="groups"><thead><tr><th>group</th><th>topic</th><th>lag</th><th>in flight</th><th>consumed / s</th><th>lag, last minutes</th></tr></thead><tbody></tbody></table>
<h2>Topics</h2>
<table id="topics"><thead><tr><th>topic</th><th>messages</th><th>produced / s</th><th>brokers</th><th>rate, last minutes</th></tr></thead><tbody></tbody></table>
<script>
const HISTORY_MAX = 90;
const history = new Map();
let previous;
const text = (value) => String(value).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
function remember(key, value) {
  const points = history.get(key) ?? [];
  points.push(value);
  if (points.length > HISTORY_MAX) points.shift();
  history.set(key, points);
  return points;
}
function chart(points) {
  const width = 160, height = 28, max = Math.max(1, ...points);
  const xy = points.map((v, i) => (i * width / Math.max(1, HISTORY_MAX - 1)).toFixed(1) + ',' + (height - 2 - v / max * (height - 4)).toFixed(1));
  return '<svg width="' + width + '" height="' + height + '"><polyline points="' + xy.join(' ') + '"/></svg>';
}
function render(snapshot) {
  const seconds = previous ? (snapshot.takenAtMs - previous.takenAtMs) / 1000 : 0;
  document.getElementById('status').textContent = 'snapshot of ' + new Date(snapshot.takenAtMs).toLocaleTimeString();
  document.getElementById('nameserver').innerHTML = snapshot.nameServer
    ? 'name server <b>' + text(snapshot.nameServer) + '</b> <span class="ok">answering</span>'
    : '<span class="bad">no name server answered: ' + text(snapshot.nameServerError ?? '') + '</span>';
  const byGroup = new Map();
  for (const broker of snapshot.brokers) {
    const key = broker.clusterName + ' / ' + broker.brokerName;
    byGroup.set(key, [...(byGroup.get(key) ?? []), broker]);
  }
  document.getElementById('brokers').innerHTML = [...byGroup].map(([name, brokers]) => {
    const masters = brokers.filter((b) => b.role === 'master').length;
    return '<div class="card broker-group"><b>' + text(name) + '</b>' + (masters === 0 ? ' <span class="bad">no master</span>' : '') +
      brokers.map((b) => '<div>' + (b.up ? '' : '<span class="bad">down</span> ') + '#' + b.brokerId + ' ' + text(b.role ?? '?') +
        ' <span class="muted">' + text(b.endpoint) + (b.epoch !== undefined ? ', epoch ' + b.epoch : '') + '</span></div>').join('') + '</div>';
  }).join('') || '<span class="muted">no broker registered</span>';
  const previousGroups = new Map((previous?.groups ?? []).map((g) => [g.group + '/' + g.topic, g]));
  document.querySelector('#groups tbody').innerHTML = snapshot.groups.map((g) => {
    const key = g.group + '/' + g.topic;
    const before = previousGroups.get(key);
    const rate = before && seconds > 0 ? Math.max(0, (g.consumed - before.consumed) / seconds) : 0;
    return '<tr class="group-row" data-group="' + text(g.group) + '"><td>' + text(g.group) + '</td><td>' + text(g.topic) + '</td><td class="num lag">' + g.lag +
      '</td><td class="num">' + g.inflight + '</td><td class="num">' + rate.toFixed(1) + '</td><td>' + chart(remember('lag:' + key, g.lag)) + '</td></tr>';
  }).join('') || '<tr><td colspan="6" class="muted">no consumer group yet</td></tr>';
  const previousTopics = new Map((previous?.topics ?? []).map((t) => [t.topic, t]));
  document.querySelector('#topics tbody').innerHTML = snapshot.topics.map((t) => {
    const before = previousTopics.get(t.topic);
    const rate = before && seconds > 0 ? Math.max(0, (t.messages - before.messages) / seconds) : 0;
    return '<tr><td>' + text(t.topic) + '</td><td class="num">' + t.messages + '</td><td class="num">' + rate.toFixed(1) + '</td><td>' +
      text(t.brokerNames.join(', ')) + '</td><td>' + chart(remember('rate:' + t.topic, rate)) + '</td></tr>';
  }).join('');
  previous = snapshot;
}
async function poll() {
  try {
    const response = await fetch('api/cluster');
    if (response.ok) render(await response.json());
    else document.getElementById('status').textContent = (await response.json()).error ?? 'the metrics app answered ' + response.status;
  } catch (error) {
    document.getElementById('status').innerHTML = '<span class="bad">the metrics app does not answer: ' + text(error.message) + '</span>';
  }
}
poll();
setInterval(poll, 2000);
</script>
</body></html>
`;

export function consolePageRoute(): Route {
  return (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    response.end(PAGE);
  };
}
