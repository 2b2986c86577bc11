// Everything a broker knows besides its messages, rebuilt from the state journal at open:
// topics, consumer groups, consumer progress and the receipt-handle key. The app adds sections
// of its own (e.g. the broker permission) before opening.
import type { Clock } from '@rmq/base';
import type { MessageStore } from '@rmq/store';
import { StateJournal, type StateJournalEvent, type StateSection } from './state/state-journal';
import { TopicRegistry } from './topic-registry';
import { GroupRegistry, type GroupSettings } from './group-registry';
import { ConsumerProgress } from './consumer-progress';
import { ReceiptKey } from './receipt-key';

export interface BrokerStateOptions {
  store: MessageStore;
  dataDir: string;
  clock: Clock;
  /** Settings of groups nobody created: the broker-wide flags. */
  groupDefaults: (name: string) => GroupSettings;
  autoCreateGroups: boolean;
  /** Consumer groups kept at most (default MESSAGING_LIMITS.groupCountMax). */
  groupCountMax?: number;
  /** False for a slave: it writes no state of its own and applies what replication copies. */
  writable?: boolean;
  snapshotEveryBytes?: number;
  /** Sections of the app's own, registered before the journal is replayed. */
  sections?: (journal: StateJournal) => StateSection[];
  onError?: (error: unknown) => void;
  onEvent?: (event: StateJournalEvent) => void;
}

export interface BrokerState {
  journal: StateJournal;
  topics: TopicRegistry;
  groups: GroupRegistry;
  progress: ConsumerProgress;
  receiptKey: ReceiptKey;
}

export async function openBrokerState(options: BrokerStateOptions): Promise<BrokerState> {
  const journal = new StateJournal({
    store: options.store, dataDir: options.dataDir, clock: options.clock, snapshotEveryBytes: options.snapshotEveryBytes, onError: options.onError, onEvent: options.onEvent,
  });
  const topics = new TopicRegistry(journal);
  const groups = new GroupRegistry(journal, options.groupDefaults, options.autoCreateGroups, options.groupCountMax);
  const progress = new ConsumerProgress(journal, options.store, options.clock);
  const receiptKey = new ReceiptKey(journal);
  for (const section of options.sections?.(journal) ?? []) journal.register(section);
  const writable = options.writable ?? true;
  await journal.open({ writable });
  if (writable) await receiptKey.ensure();
  return { journal, topics, groups, progress, receiptKey };
}

/** The broker became its group's master: state copied so far applies, then it records its own. */
export async function stateBecomesMaster(state: BrokerState): Promise<void> {
  await state.journal.becomeMaster();
  await state.receiptKey.ensure();
}
