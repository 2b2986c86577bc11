// Typed configuration: each app declares its options once (name, type, default, help); values
// come from command-line flags, then RMQ_* environment variables, then defaults. Unknown flags
// and invalid values fail at start with a message that names the option.

export type OptionType = 'string' | 'int' | 'bool' | 'hostPort' | 'hostPortList' | 'enum';

export interface OptionSpec {
  type: OptionType;
  help: string;
  default?: string | number | boolean;
  values?: readonly string[];
  min?: number;
  max?: number;
}

export type Schema = Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'int'
  ? number
  : S['type'] extends 'bool'
    ? boolean
    : S['type'] extends 'hostPortList'
      ? string[]
      : string;
export type ConfigOf<S extends Schema> = { [K in keyof S]: ValueOf<S[K]> };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** `dataDir` is set with `--data-dir` or `RMQ_DATA_DIR`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

export function envName(key: string): string {
  return 'RMQ_' + flagName(key).replace(/-/g, '_').toUpperCase();
}

export function loadConfig<S extends Schema>(
  schema: S,
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): ConfigOf<S> {
  const byFlag = new Map(Object.keys(schema).map((key) => [flagName(key), key]));
  const raw = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${arg}; options look like --name value`);
    const [flag, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const key = byFlag.get(flag);
    if (!key) throw new ConfigError(`unknown option --${flag}; known options: ${[...byFlag.keys()].map((f) => '--' + f).join(', ')}`);
    if (inline !== undefined) raw.set(key, inline);
    else if (schema[key].type === 'bool' && (argv[i + 1] === undefined || argv[i + 1].startsWith('--'))) raw.set(key, 'true');
    else if (argv[i + 1] === undefined) throw new ConfigError(`option --${flag} needs a value`);
    else raw.set(key, argv[++i]);
  }
  const config: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const text = raw.get(key) ?? env[envName(key)];
    if (text === undefined) {
      if (spec.default === undefined) throw new ConfigError(`option --${flagName(key)} (or ${envName(key)}) is required: ${spec.help}`);
      config[key] = spec.type === 'hostPortList' ? parseValue(key, spec, String(spec.default)) : spec.default;
      continue;
    }
    config[key] = parseValue(key, spec, text);
  }
  return config as ConfigOf<S>;
}

function parseValue(key: string, spec: OptionSpec, text: string): string | number | boolean | string[] {
  const name = `--${flagName(key)}`;
  switch (spec.type) {
    case 'string':
      return text;
    case 'int': {
      if (!/^-?\d+$/.test(text)) throw new ConfigError(`${name} must be a whole number, got "${text}"`);
      const value = Number(text);
      if (spec.min !== undefined && value < spec.min) throw new ConfigError(`${name} must be at least ${spec.min}, got ${value}`);
      if (spec.max !== undefined && value > spec.max) throw new ConfigError(`${name} must be at most ${spec.max}, got ${value}`);
      return value;
    }
    case 'bool':
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      throw new ConfigError(`${name} must be true or false, got "${text}"`);
    case 'hostPort':
      parseHostPort(text, name);
      return text;
    case 'hostPortList': {
      const addresses = text.split(',').map((part) => part.trim()).filter(Boolean);
      for (const address of addresses) parseHostPort(address, name);
      return addresses;
    }
    case 'enum':
      if (!spec.values?.includes(text)) throw new ConfigError(`${name} must be one of ${spec.values?.join(', ')}, got "${text}"`);
      return text;
  }
}

export function parseHostPort(text: string, what = 'address'): { host: string; port: number } {
  const match = /^(.+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) throw new ConfigError(`${what} must look like host:port, got "${text}"`);
  return { host: match[1], port };
}

/** Help text for an app's options, for `--help`. */
export function describeOptions(schema: Schema): string {
  return Object.entries(schema)
    .map(([key, spec]) => {
      const def = spec.default === undefined ? 'required' : `default ${JSON.stringify(spec.default)}`;
      return `  --${flagName(key).padEnd(26)} ${spec.help} (${def}; env ${envName(key)})`;
    })
    .join('\n');
}

/**
 * For an app's main: parses argv and the environment, or prints why not (exit 2) or the help
 * (exit 0). A bad option is a usage error, never a stack trace. `check` may throw a ConfigError
 * for rules the schema cannot express.
 */
export function readConfigOrExit<S extends Schema>(
  schema: S,
  app: string,
  options: { argv?: readonly string[]; check?: (config: ConfigOf<S>) => void } = {},
): ConfigOf<S> {
  const argv = options.argv ?? process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(`usage: ${app} [options]\n\n${describeOptions(schema)}\n`);
    process.exit(0);
  }
  try {
    const config = loadConfig(schema, argv);
    options.check?.(config);
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${app}: ${error.message}\n(see ${app} --help)\n`);
    process.exit(2);
  }
}
