// Parsing and checking of argument values, and the options several commands share. Bad values
// become commander's InvalidArgumentError, which the program reports as a usage error (exit 2).
import { InvalidArgumentError, Option } from 'commander';
import { nameProblem, TOPIC_NAME_LENGTH_MAX } from '@rmq/base';
import { namesrv } from '@rmq/contracts';

export const DEFAULT_BROKER = '127.0.0.1:8081';
export const DEFAULT_NAME_SERVER = '127.0.0.1:9876';
export const DEFAULT_TIMEOUT_MS = 5_000;
/** Longer than any admin call should take; a bigger value is almost surely a typo. */
export const TIMEOUT_MS_MAX = 600_000;
/** queue_count is an int32 on the wire; the broker applies its own, lower limit. */
export const QUEUE_COUNT_MAX = 2_147_483_647;

const CONNECTION_GROUP = 'Connection options:';

export const TOPIC_TYPES = {
  normal: namesrv.TopicMessageType.NORMAL,
  fifo: namesrv.TopicMessageType.FIFO,
  delay: namesrv.TopicMessageType.DELAY,
  transaction: namesrv.TopicMessageType.TRANSACTION,
} as const;
export type TopicTypeName = keyof typeof TOPIC_TYPES;

/** host:port with a port in 1..65535; IPv6 hosts in brackets ([::1]:8081). */
/** Permission names the CLI takes, as RocketMQ's bits (READ 4, WRITE 2). */
export const PERMISSIONS = { 'read-write': 6, read: 4, write: 2 } as const;
export type PermissionName = keyof typeof PERMISSIONS;

export function parseAddress(text: string): string {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65_535) throw new InvalidArgumentError(`expected host:port (for example 127.0.0.1:8081), got "${text}"`);
  return text;
}

export function parseTimeoutMs(text: string): number {
  return parseWholeNumber(text, 1, TIMEOUT_MS_MAX);
}

export function parseQueueCount(text: string): number {
  return parseWholeNumber(text, 1, QUEUE_COUNT_MAX);
}

export function parseEpoch(text: string): number {
  return parseWholeNumber(text, 1, Number.MAX_SAFE_INTEGER);
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A delay such as 500ms, 10s, 2m, 1h or 3d (a bare number is seconds). */
export function parseDelayMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`expected a delay such as 500ms, 10s, 2m, 1h or 3d, got "${text}"`);
  return Math.round(Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 's']);
}

/** A delivery time: an ISO 8601 date-time (2030-01-01T12:00:00Z) or ms since 1970. */
export function parseDeliverAt(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError(`expected an ISO date-time such as 2030-01-01T12:00:00Z or ms since 1970, got "${text}"`);
  return ms;
}

export function parseTopicName(text: string): string {
  const problem = nameProblem(text, TOPIC_NAME_LENGTH_MAX);
  if (problem) throw new InvalidArgumentError(`not a valid topic name: ${problem}.`);
  return text;
}

function parseWholeNumber(text: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text)) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got "${text}"`);
  const value = Number(text);
  if (value < min || value > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got ${value}`);
  return value;
}

export interface CallOptions {
  timeoutMs: number;
}

export interface BrokerCallOptions extends CallOptions {
  broker: string;
}

export interface NameServerCallOptions extends CallOptions {
  nameServer: string;
}

export interface OutputOptions {
  json: boolean;
}

export function brokerOption(): Option {
  return brokerAddressOption('gRPC address of the broker to ask').default(DEFAULT_BROKER);
}

/** --broker with no default: a command that goes through the name server unless a broker is named. */
export function brokerInsteadOption(): Option {
  return brokerAddressOption('ask this broker instead of the name server');
}

function brokerAddressOption(description: string): Option {
  return new Option('-b, --broker <host:port>', description).env('RMQ_BROKER').argParser(parseAddress).helpGroup(CONNECTION_GROUP);
}

export function nameServerOption(): Option {
  return new Option('-n, --name-server <host:port>', 'gRPC address of the name server to ask')
    .env('RMQ_NAME_SERVER')
    .default(DEFAULT_NAME_SERVER)
    .argParser(parseAddress)
    .helpGroup(CONNECTION_GROUP);
}

export function timeoutOption(): Option {
  return new Option('--timeout-ms <ms>', 'give up on a call that has not answered after this long')
    .env('RMQ_TIMEOUT_MS')
    .default(DEFAULT_TIMEOUT_MS)
    .argParser(parseTimeoutMs)
    .helpGroup(CONNECTION_GROUP);
}

export function jsonOption(): Option {
  return new Option('--json', 'print the reply as JSON (the proto3 JSON mapping, every field) instead of text');
}
