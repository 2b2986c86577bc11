// What each call needs when auth is on: the actions on topics, groups or the cluster. A method
// missing from the table needs admin on the cluster, so a new RPC is closed until it is listed.
import type { AccessNeed } from '@rmq/messaging';

type Request = Record<string, unknown> | undefined;
type NeedsOf = (request: Request) => AccessNeed[];

const topic = (name: unknown, ...actions: AccessNeed['actions']): AccessNeed => ({ type: 'topic', name: String(name ?? ''), actions });
const group = (name: unknown): AccessNeed => ({ type: 'group', name: String(name ?? ''), actions: ['sub'] });
const clusterAdmin: AccessNeed = { type: 'cluster', name: '', actions: ['admin'] };
const nameOf = (resource: unknown) => (resource as { name?: string } | undefined)?.name;
const authenticatedOnly: NeedsOf = () => [];
/** Consumer calls: sub on the topic and on the group. */
const consume: NeedsOf = (r) => [topic(nameOf(r?.topic), 'sub'), group(nameOf(r?.group))];

const NEEDS: Record<string, NeedsOf> = {
  // MessagingService.
  QueryRoute: (r) => [topic(nameOf(r?.topic), 'pub', 'sub')],
  Heartbeat: authenticatedOnly,
  SendMessage: (r) => [...new Set(((r?.messages ?? []) as { topic?: { name?: string } }[]).map((m) => nameOf(m.topic)))].map((name) => topic(name, 'pub')),
  QueryAssignment: consume,
  ReceiveMessage: (r) => [topic(nameOf((r?.messageQueue as Request)?.topic), 'sub'), group(nameOf(r?.group))],
  AckMessage: consume,
  ChangeInvisibleDuration: consume,
  ForwardMessageToDeadLetterQueue: consume,
  NotifyClientTermination: authenticatedOnly,
  // The settings a client sends on it name its topics; each later call is checked on its own.
  Telemetry: authenticatedOnly,
  EndTransaction: authenticatedOnly,
  // Cancelling a producer's delay message is the producer's right: pub on the topic (the handle must name it).
  RecallMessage: (r) => [topic(nameOf(r?.topic), 'pub')],
  PullMessage: authenticatedOnly,
  UpdateOffset: authenticatedOnly,
  GetOffset: authenticatedOnly,
  QueryOffset: authenticatedOnly,
  SyncLiteSubscription: authenticatedOnly,
  // AdminService: reading needs an identity, changing a topic admin on it, the rest admin on the cluster.
  GetTopic: authenticatedOnly,
  ListTopics: authenticatedOnly,
  GetBrokerStatus: authenticatedOnly,
  CreateTopic: (r) => [topic(r?.name, 'admin')],
  UpdateTopic: (r) => [topic(r?.name, 'admin')],
};

export function accessNeeds(method: string, request: unknown): AccessNeed[] {
  return (NEEDS[method] ?? (() => [clusterAdmin]))(request as Request);
}
