// NameServerService as a table: one function per RPC. Validation that needs the domain lives in
// the registry; wire mapping in route-mapping.ts; errors become gRPC statuses in unaryHandlers.
import type { GenService } from '@bufbuild/protobuf/codegenv2';
import { nameProblem, RmqError, TOPIC_NAME_LENGTH_MAX, type Clock } from '@rmq/base';
import { create, namesrv, type UnaryImplementation } from '@rmq/contracts';
import type { Logger } from '@rmq/observability';
import { identityProblem, type RouteRegistry } from '@rmq/routing';
import type { NameServerMetrics } from './name-server-metrics';
import { clusterInfoToWire, identityFromWire, registrationFromWire, routeToWire } from './route-mapping';

export type NameServerMethods = typeof namesrv.NameServerService extends GenService<infer M> ? M : never;

export interface NameServerDeps {
  routes: RouteRegistry;
  clock: Clock;
  log: Logger;
  metrics: NameServerMetrics;
}

export function nameServerService({ routes, clock, log, metrics }: NameServerDeps): UnaryImplementation<NameServerMethods> {
  return {
    registerBroker: async (request) => {
      const registration = registrationFromWire(request);
      const { leaseMs, isNew, roleChanged, routed, conflictingMasters } = routes.register(registration, clock.nowMs());
      metrics.registrations.inc({ outcome: isNew ? 'new' : 'renewed' });
      const fields = { ...registration.identity, endpoint: registration.endpoint, role: registration.role, epoch: registration.epoch, routed, topicCount: registration.topics.length, leaseMs };
      if (isNew) log.info('broker registered', fields);
      else if (roleChanged) log.info('broker role changed', fields);
      else log.debug('broker lease renewed', fields);
      if (conflictingMasters.length > 0) {
        log.warn('two brokers claim master of one group in the same epoch; routing the newer claim', { ...fields, others: conflictingMasters.map((other) => other.brokerId) });
      }
      return create(namesrv.RegisterBrokerResponseSchema, { leaseMs: BigInt(leaseMs) });
    },

    unregisterBroker: async (request) => {
      const identity = identityFromWire(request.broker);
      const problem = identityProblem(identity);
      if (problem) throw new RmqError('BAD_REQUEST', { reason: problem });
      const removed = routes.unregister(identity);
      log.info(removed ? 'broker unregistered' : 'unregister of a broker that was not live', { ...identity });
      return create(namesrv.UnregisterBrokerResponseSchema, {});
    },

    getTopicRoute: async (request) => {
      const problem = nameProblem(request.topic, TOPIC_NAME_LENGTH_MAX);
      if (problem) throw new RmqError('BAD_REQUEST', { reason: `topic "${request.topic}" is not valid: ${problem}` });
      return routeToWire(request.topic, routes.routeOf(request.topic));
    },

    getClusterInfo: async () => clusterInfoToWire(routes.clusterInfo()),
  };
}
