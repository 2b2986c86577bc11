// AdminService's user and grant calls over an AccessStore. Secrets go in and never come out.
import { RmqError } from '@rmq/base';
import { admin, create } from '@rmq/contracts';
import { ACCESS_ACTIONS, type AccessAction, type AccessStore, type AccessUser } from '@rmq/messaging';

export function userAdmin(users: AccessStore) {
  const require = (name: string): AccessUser => {
    const user = users.get(name);
    if (!user) throw new RmqError('NOT_FOUND', { what: 'user', name });
    return user;
  };
  return {
    putUser: async (request: admin.PutUserRequest) => {
      const existing = users.get(request.name);
      await users.put({ name: request.name, secret: request.secret, admin: request.admin, grants: existing?.grants ?? [] });
      return create(admin.PutUserResponseSchema, { created: !existing });
    },
    deleteUser: async (request: admin.DeleteUserRequest) => create(admin.DeleteUserResponseSchema, { deleted: await users.delete(request.name) }),
    listUsers: async () => create(admin.ListUsersResponseSchema, { users: users.list().map(userToWire) }),
    setGrant: async (request: admin.SetGrantRequest) => {
      const user = require(request.user);
      const resource = request.grant?.resource ?? '';
      const actions = [...new Set(request.grant?.actions ?? [])];
      const unknown = actions.find((action) => !ACCESS_ACTIONS.includes(action as AccessAction));
      if (unknown) throw new RmqError('BAD_REQUEST', { reason: `unknown action "${unknown}"; actions are ${ACCESS_ACTIONS.join(', ')}` });
      const grants = user.grants.filter((grant) => grant.resource !== resource);
      if (actions.length > 0) grants.push({ resource, actions: actions as AccessAction[] });
      await users.put({ ...user, grants });
      return create(admin.SetGrantResponseSchema, { user: userToWire(users.get(user.name)!) });
    },
  };
}

function userToWire(user: AccessUser): admin.User {
  return create(admin.UserSchema, { name: user.name, admin: user.admin, grants: user.grants });
}
