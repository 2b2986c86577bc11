// Which broker group a producer sends a message to. Pure: the caller keeps the rotation counter
// and the health view. Messages of one message group always go to the same broker (ordering
// beats availability for them); others go round robin over the writable brokers, preferring
// healthy ones in the producer's zone, then healthy ones anywhere, then anything writable.
import { fnv1a32 } from '@rmq/base';

export interface WritableBroker {
  brokerName: string;
  endpoint: string;
  zone: string;
}

export interface SelectionInput {
  /** Writable broker groups of the topic. */
  brokers: readonly WritableBroker[];
  messageGroup?: string;
  /** Brokers to avoid now (failed recently, or slow). */
  avoided: ReadonlySet<string>;
  /** Brokers already tried for this message. */
  tried?: ReadonlySet<string>;
  /** The producer's zone; empty for none. */
  zone?: string;
  /** Grows by one per selection, for round robin. */
  rotation: number;
}

export function selectBroker(input: SelectionInput): WritableBroker | undefined {
  const sorted = [...input.brokers].sort((a, b) => (a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : 0));
  if (sorted.length === 0) return undefined;
  if (input.messageGroup) return sorted[fnv1a32(input.messageGroup) % sorted.length];
  const untried = sorted.filter((broker) => !input.tried?.has(broker.brokerName));
  const healthy = untried.filter((broker) => !input.avoided.has(broker.brokerName));
  const sameZone = input.zone ? healthy.filter((broker) => broker.zone === input.zone) : [];
  const tier = [sameZone, healthy, untried, sorted].find((candidates) => candidates.length > 0)!;
  return tier[input.rotation % tier.length];
}
