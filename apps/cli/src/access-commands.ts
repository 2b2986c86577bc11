// rmq user create|delete|list and rmq acl grant|revoke: users and their grants on a broker that
// runs with --auth. Every call needs an admin identity (RMQ_ACCESS_KEY and its secret).
import { randomBytes } from 'node:crypto';
import { Argument, Option, type Command } from 'commander';
import { readSecretFile } from '@rmq/config';
import { admin } from '@rmq/contracts';
import { callOnce } from './call';
import { CliError } from './cli-error';
import { jsonText } from './format';
import type { Io } from './io';
import { brokerOption, jsonOption, timeoutOption, type BrokerCallOptions, type OutputOptions } from './options';

const ACTIONS = ['pub', 'sub', 'admin'];

export function registerAccessCommands(program: Command, io: Io): void {
  const user = program.command('user').description('users of a broker that runs with --auth (needs an admin identity)');
  const target = (what: string, options: BrokerCallOptions) => ({ what, role: 'broker', address: options.broker, timeoutMs: options.timeoutMs });

  user
    .command('create')
    .description('create a user, or give an existing one a new secret; prints the secret when it generated one')
    .addArgument(new Argument('<name>', 'the user name, also its access key'))
    .addOption(new Option('--secret-file <path>', 'take the secret from this file (mode 0600) instead of generating one'))
    .addOption(new Option('--admin', 'an admin may do everything'))
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .addHelpText('after', '\nExamples:\n  rmq user create alice\n  rmq user create ops --admin --secret-file ./ops.secret')
    .action(async (name: string, options: BrokerCallOptions & { secretFile?: string; admin?: boolean }) => {
      let secret: string;
      try {
        secret = options.secretFile ? readSecretFile(options.secretFile, '--secret-file') : randomBytes(24).toString('base64url');
      } catch (error) {
        throw new CliError((error as Error).message, 2);
      }
      const reply = await callOnce(admin.AdminService, target(`cannot create user ${name}`, options), (client, call) =>
        client.putUser({ name, secret, admin: options.admin === true }, call),
      );
      io.out(`User ${name} ${reply.created ? 'created' : 'updated'}${options.admin ? ' (admin)' : ''}.`);
      if (!options.secretFile) io.out(`Secret (shown once): ${secret}`);
    });

  user
    .command('delete')
    .description('delete a user and its grants')
    .addArgument(new Argument('<name>'))
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .action(async (name: string, options: BrokerCallOptions) => {
      const reply = await callOnce(admin.AdminService, target(`cannot delete user ${name}`, options), (client, call) => client.deleteUser({ name }, call));
      if (!reply.deleted) throw new CliError(`cannot delete user ${name}: there is no such user`);
      io.out(`User ${name} deleted.`);
    });

  user
    .command('list')
    .description('users and their grants (never their secrets)')
    .addOption(jsonOption())
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .action(async (options: BrokerCallOptions & OutputOptions) => {
      const reply = await callOnce(admin.AdminService, target('cannot list users', options), (client, call) => client.listUsers({}, call));
      if (options.json) return io.out(jsonText(admin.ListUsersResponseSchema, reply));
      if (reply.users.length === 0) return io.out('No users.');
      for (const each of reply.users) {
        const grants = each.grants.map((grant) => `${grant.resource}=${grant.actions.join(',')}`).join(' ');
        io.out(`${each.name}${each.admin ? ' (admin)' : ''}${grants ? `  ${grants}` : ''}`);
      }
    });

  const acl = program.command('acl').description('what users may do: pub, sub, admin on topics, groups or the cluster');
  acl
    .command('grant')
    .description('let a user take actions on a resource (replaces the actions it had there)')
    .addArgument(new Argument('<user>'))
    .addArgument(new Argument('<resource>', '"topic:<name>", "group:<name>" (a name may end in *) or "cluster"'))
    .addArgument(new Argument('<actions>', `comma-separated: ${ACTIONS.join(', ')}`))
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .addHelpText('after', '\nExamples:\n  rmq acl grant alice topic:Orders pub\n  rmq acl grant alice group:billing sub\n  rmq acl grant alice topic:Audit* sub')
    .action(async (name: string, resource: string, actionsText: string, options: BrokerCallOptions) => {
      const actions = actionsText.split(',').map((action) => action.trim()).filter(Boolean);
      const unknown = actions.find((action) => !ACTIONS.includes(action));
      if (unknown || actions.length === 0) throw new CliError(`actions are ${ACTIONS.join(', ')}, comma-separated; got "${actionsText}"`, 2);
      await setGrant(io, target(`cannot grant ${actionsText} on ${resource} to ${name}`, options), name, resource, actions);
    });
  acl
    .command('revoke')
    .description('take back every action a user had on a resource')
    .addArgument(new Argument('<user>'))
    .addArgument(new Argument('<resource>'))
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .action(async (name: string, resource: string, options: BrokerCallOptions) => {
      await setGrant(io, target(`cannot revoke ${resource} from ${name}`, options), name, resource, []);
    });
}

async function setGrant(io: Io, target: Parameters<typeof callOnce>[1], user: string, resource: string, actions: string[]): Promise<void> {
  const reply = await callOnce(admin.AdminService, target, (client, call) => client.setGrant({ user, grant: { resource, actions } }, call));
  const grants = reply.user?.grants.map((grant) => `${grant.resource}=${grant.actions.join(',')}`).join(' ') || 'none';
  io.out(`User ${user} now has: ${grants}.`);
}
