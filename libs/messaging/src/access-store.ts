// Where users and their grants live. Behind a small interface so the broker's replicated state
// (the state journal in the commit log) can hold them; FileAccessStore keeps them in
// <dataDir>/config/access.json, mode 0600 (it holds secrets), written atomically.
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { RmqError } from '@rmq/base';
import { readJson, writeJsonAtomic } from '@rmq/store';
import { ACCESS_ACTIONS, resourceProblem, userNameProblem, type AccessUser } from './access-control';
import { MESSAGING_LIMITS } from './limits';

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

const SECRET_FILE_MODE = 0o600;

export class FileAccessStore implements AccessStore {
  private readonly listeners = new Set<(name: string) => void>();

  private constructor(
    private readonly path: string,
    private readonly users: Map<string, AccessUser>,
  ) {}

  static async open(dataDir: string): Promise<FileAccessStore> {
    await mkdir(join(dataDir, 'config'), { recursive: true });
    const path = join(dataDir, 'config', 'access.json');
    const saved = (await readJson<{ users: AccessUser[] }>(path))?.users ?? [];
    return new FileAccessStore(path, new Map(saved.map((user) => [user.name, user])));
  }

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
    this.users.set(user.name, structuredClone(user));
    await this.persist();
    this.changed(user.name);
  }

  async delete(name: string): Promise<boolean> {
    if (!this.users.delete(name)) return false;
    await this.persist();
    this.changed(name);
    return true;
  }

  onChange(listener: (name: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private persist(): Promise<void> {
    return writeJsonAtomic(this.path, { users: this.list() }, { mode: SECRET_FILE_MODE });
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
