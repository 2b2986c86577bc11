// Who may do what: users with secrets, and grants of actions (pub, sub, admin) on resources
// (topic:<name>, group:<name>, cluster; a name may end in * to cover a prefix, * alone is all).
// Pure: no I/O. An admin user may do everything; others only what a grant names.

export type AccessAction = 'pub' | 'sub' | 'admin';
export const ACCESS_ACTIONS: readonly AccessAction[] = ['pub', 'sub', 'admin'];
export type ResourceType = 'topic' | 'group' | 'cluster';

export interface AccessGrant {
  /** "topic:Orders", "topic:Orders*", "group:*", "cluster". */
  resource: string;
  actions: AccessAction[];
}

export interface AccessUser {
  name: string;
  secret: string;
  /** An admin may do everything (RocketMQ's super user). */
  admin: boolean;
  grants: AccessGrant[];
}

/** One thing a call needs: any of `actions` on the resource. */
export interface AccessNeed {
  type: ResourceType;
  /** '' for the cluster. */
  name: string;
  actions: readonly AccessAction[];
}

/** The first need `user` does not meet, or undefined when every need is met. */
export function unmetNeed(user: AccessUser, needs: readonly AccessNeed[]): AccessNeed | undefined {
  if (user.admin) return undefined;
  return needs.find((need) => !need.actions.some((action) => allows(user, need, action)));
}

function allows(user: AccessUser, need: AccessNeed, action: AccessAction): boolean {
  return user.grants.some((grant) => grant.actions.includes(action) && covers(grant.resource, need));
}

function covers(resource: string, need: AccessNeed): boolean {
  if (need.type === 'cluster') return resource === 'cluster';
  const prefix = `${need.type}:`;
  if (!resource.startsWith(prefix)) return false;
  const pattern = resource.slice(prefix.length);
  return pattern.endsWith('*') ? need.name.startsWith(pattern.slice(0, -1)) : pattern === need.name;
}

export function describeNeed(need: AccessNeed): { action: string; resource: string } {
  return { action: need.actions.join(' or '), resource: need.type === 'cluster' ? 'the cluster' : `${need.type} ${need.name}` };
}

/** Why a grant's resource text is not valid, or undefined. */
export function resourceProblem(resource: string): string | undefined {
  if (resource === 'cluster') return undefined;
  const match = /^(topic|group):(.+)$/.exec(resource);
  if (!match) return 'a resource is "cluster", "topic:<name>" or "group:<name>" (a name may end in *)';
  const name = match[2];
  if (!/^[%|a-zA-Z0-9_-]+\*?$/.test(name) && name !== '*') return `"${name}" is not a topic or group name (or a prefix ending in *)`;
  return undefined;
}

/** Why a user name (also its access key) is not valid, or undefined. */
export function userNameProblem(name: string): string | undefined {
  if (!/^[a-zA-Z0-9_.-]{1,64}$/.test(name)) return 'a user name has 1 to 64 letters, digits, ".", "_" or "-"';
  return undefined;
}
