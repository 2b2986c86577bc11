// GET /api/cluster: the last snapshot as JSON, for the console and for people with curl.
import type { Route } from '@rmq/observability';
import type { ClusterSnapshot } from './cluster-snapshot';

export function clusterApiRoute(latest: () => ClusterSnapshot | undefined): Route {
  return (_request, response) => {
    const snapshot = latest();
    if (snapshot === undefined) {
      response.writeHead(503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'the first poll of the cluster has not finished yet' }));
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(snapshot));
  };
}
