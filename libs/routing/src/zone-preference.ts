// Zone-aware routes: a client that declares its zone is offered the writable brokers of that
// zone only, while there is one; the others stay readable (consumers still drain them). With no
// writable broker in its zone the client gets every broker as it is: it falls back to the rest.
import { PERM_WRITE } from './broker-registration';

export interface ZonedBroker {
  zone: string;
  perm: number;
}

/** The brokers with WRITE cleared outside `zone`, when `zone` has a writable broker; else as given. */
export function preferZone<B extends ZonedBroker>(brokers: readonly B[], zone: string): B[] {
  if (!zone || !brokers.some((broker) => broker.zone === zone && (broker.perm & PERM_WRITE) !== 0)) return [...brokers];
  return brokers.map((broker) => (broker.zone === zone ? broker : { ...broker, perm: broker.perm & ~PERM_WRITE }));
}
