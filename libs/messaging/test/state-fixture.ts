// A store and the broker state over it, for tests of the messaging layer: what the broker opens.
import { systemClock, type Clock } from '@rmq/base';
import { MessageStore, type FlushMode } from '@rmq/store';
import { openBrokerState, type BrokerState } from '../src/broker-state';
import type { GroupSettings } from '../src/group-registry';
import type { StateJournal, StateSection } from '../src/state/state-journal';

export const TEST_GROUP_DEFAULTS: GroupSettings = { maxAttempts: 17, retry: { kind: 'customized', delaysMs: [10_000] }, fifo: true, consumeType: 'clustering', consumeEnabled: true };

export interface StateFixture extends BrokerState {
  store: MessageStore;
  /** The receipt-handle secret, as ConsumerService takes it. */
  secret: () => Buffer;
  close(): Promise<void>;
}

export async function openStateFixture(dataDir: string, options: { clock?: Clock; flushMode?: FlushMode; groupDefaults?: (name: string) => GroupSettings; sections?: (journal: StateJournal) => StateSection[]; groupCountMax?: number } = {}): Promise<StateFixture> {
  const store = await MessageStore.open({ dataDir, flushMode: options.flushMode ?? 'async' });
  const state = await openBrokerState({ store, dataDir, clock: options.clock ?? systemClock, autoCreateGroups: true, groupDefaults: options.groupDefaults ?? (() => TEST_GROUP_DEFAULTS), sections: options.sections, groupCountMax: options.groupCountMax });
  return {
    ...state,
    store,
    secret: () => state.receiptKey.value,
    close: async () => {
      await state.journal.close();
      await store.close();
    },
  };
}
