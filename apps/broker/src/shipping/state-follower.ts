// A slave's broker state (topics, groups, consumer progress...) follows its master's: whenever
// state records the master wrote become readable here (committed), the journal applies them.
// One catch-up at a time; a record arriving meanwhile triggers one more.
import { STATE_TOPIC } from '@rmq/base';
import type { StateJournal } from '@rmq/messaging';
import type { MessageStore } from '@rmq/store';

export function followState(store: MessageStore, journal: StateJournal, isSlave: () => boolean, onError: (error: unknown) => void): () => void {
  let running: Promise<void> | undefined;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = journal.catchUp().then(() => undefined, onError).finally(() => {
      running = undefined;
      if (again) {
        again = false;
        run();
      }
    });
  };
  return store.onConfirmed((topic) => {
    if (topic === STATE_TOPIC && isSlave()) run();
  });
}
