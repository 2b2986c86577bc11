// Where users and their grants live: in the broker's replicated state (the state journal in the
// commit log, whose segment files are readable by their owner only, as they hold these secrets),
// so every replica of a group authenticates the same users after a failover.
import { RmqError } from '@rmq/base';
import { ACCESS_ACTIONS, resourceProblem, userNameProblem, type AccessUser } from './access-control';
import { MESSAGING_LIMITS } from './limits';
import type { StateJournal, StateSection } from './state/state-journal';

export interface AccessStore {
  list(): readonly AccessUser[];
  get(name: string): AccessUser | undefined;
  /** Creates or replaces a user (validated); resolves once it is durable. */
  put(user: AccessUser): Promise<void>;
  /** Resolves to false when there was no such user. */
  delete(name: string): Promise<boolean>;
  /** Called after each change with the user's name; returns a function that stops the calls. */
  onChange(listener: (name: string) => void): () => void;
}

type AccessChange = { op: 'put'; user: AccessUser } | { op: 'delete'; name: string };

/** Users and grants as a section of the state journal: recorded in the commit log, copied by replicas. */
export class JournalAccessStore implements AccessStore, StateSection<AccessChange> {
  readonly name = 'access';
  private readonly users = new Map<string, AccessUser>();
  private readonly listeners = new Set<(name: string) => void>();

  constructor(private readonly journal: StateJournal) {}

  list(): readonly AccessUser[] {
    return [...this.users.values()];
  }

  get(name: string): AccessUser | undefined {
    return this.users.get(name);
  }

  async put(user: AccessUser): Promise<void> {
    checkUser(user);
    if (!this.users.has(user.name) && this.users.size >= MESSAGING_LIMITS.accessUsersMax) {
      throw new RmqError('TOO_MANY_REQUESTS', { reason: `at most ${MESSAGING_LIMITS.accessUsersMax} users` });
    }
    const copy = structuredClone(user);
    this.journal.requireWritable(); // memory never holds a change the log does not
    this.users.set(user.name, copy);
    await this.journal.record(this.name, { op: 'put', user: copy } satisfies AccessChange);
    this.changed(user.name);
  }

  async delete(name: string): Promise<boolean> {
    if (!this.users.has(name)) return false;
    this.journal.requireWritable(); // memory never holds a change the log does not
    this.users.delete(name);
    await this.journal.record(this.name, { op: 'delete', name } satisfies AccessChange);
    this.changed(name);
    return true;
  }

  onChange(listener: (name: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  apply(change: AccessChange): void {
    if (change.op === 'put') this.users.set(change.user.name, change.user);
    else this.users.delete(change.name);
    this.changed(change.op === 'put' ? change.user.name : change.name);
  }

  dump(): AccessChange[] {
    return this.list().map((user) => ({ op: 'put', user }));
  }

  reset(): void {
    const names = [...this.users.keys()];
    this.users.clear();
    for (const name of names) this.changed(name);
  }

  private changed(name: string): void {
    for (const listener of this.listeners) listener(name);
  }
}

/** Refuses a user record that is not valid, with the reason. */
export function checkUser(user: AccessUser): void {
  const bad = (reason: string) => new RmqError('BAD_REQUEST', { reason });
  const nameProblem = userNameProblem(user.name);
  if (nameProblem) throw bad(`user ${JSON.stringify(user.name)}: ${nameProblem}`);
  if (user.secret.length < 8 || user.secret.length > 256) throw bad(`user ${user.name}: a secret has 8 to 256 characters`);
  if (user.grants.length > MESSAGING_LIMITS.accessGrantsPerUserMax) throw bad(`user ${user.name}: at most ${MESSAGING_LIMITS.accessGrantsPerUserMax} grants`);
  for (const grant of user.grants) {
    const problem = resourceProblem(grant.resource);
    if (problem) throw bad(`grant on ${JSON.stringify(grant.resource)}: ${problem}`);
    if (grant.actions.length === 0 || grant.actions.some((action) => !ACCESS_ACTIONS.includes(action))) {
      throw bad(`grant on ${grant.resource}: actions are ${ACCESS_ACTIONS.join(', ')}`);
    }
  }
}
