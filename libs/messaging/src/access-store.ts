// Where users and their grants live: behind a small interface, kept by JournalAccessStore in
// the broker's state journal (system records in the commit log), so a replica that copies the
// log knows every user its master knew, and a restart or a failover keeps them. Secrets are
// kept as given (an HMAC check needs them), so the data folder must be readable by the broker
// only.
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
  /** Called after each change with the user's name (also changes copied from a master); returns a function that stops the calls. */
  onChange(listener: (name: string) => void): () => void;
}

type AccessChange = { op: 'put'; user: AccessUser } | { op: 'delete'; name: string };

export class JournalAccessStore implements AccessStore, StateSection<AccessChange> {
  readonly name = 'access';
  private readonly users = new Map<string, AccessUser>();
  private readonly listeners = new Set<(name: string) => void>();

  constructor(private readonly journal: StateJournal) {}

  list(): readonly AccessUser[] {
    return [...this.users.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): AccessUser | undefined {
    return this.users.get(name);
  }

  async put(user: AccessUser): Promise<void> {
    checkUser(user);
    if (!this.users.has(user.name) && this.users.size >= MESSAGING_LIMITS.accessUsersMax) {
      throw new RmqError('TOO_MANY_REQUESTS', { reason: `at most ${MESSAGING_LIMITS.accessUsersMax} users` });
    }
    const change: AccessChange = { op: 'put', user: structuredClone(user) };
    this.apply(change);
    await this.journal.record(this.name, change);
  }

  async delete(name: string): Promise<boolean> {
    if (!this.users.has(name)) return false;
    const change: AccessChange = { op: 'delete', name };
    this.apply(change);
    await this.journal.record(this.name, change);
    return true;
  }

  onChange(listener: (name: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  apply(change: AccessChange): void {
    if (change.op === 'put') this.users.set(change.user.name, change.user);
    else this.users.delete(change.name);
    const name = change.op === 'put' ? change.user.name : change.name;
    for (const listener of this.listeners) listener(name);
  }

  dump(): AccessChange[] {
    return this.list().map((user) => ({ op: 'put', user }));
  }

  reset(): void {
    this.users.clear();
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
