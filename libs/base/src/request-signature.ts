// RocketMQ 5's request signature, as the official clients send it in gRPC metadata:
//   x-mq-date-time: 20260307T195445Z (UTC, to the second)
//   authorization:  MQv2-HMAC-SHA1 Credential=<access key>, SignedHeaders=x-mq-date-time, Signature=<HEX(HMAC-SHA1(date-time, secret))>
// Used by servers to verify callers and by our own clients (CLI, SDK, broker to name server) to sign.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const DATE_TIME_HEADER = 'x-mq-date-time';
export const AUTHORIZATION_HEADER = 'authorization';
const ALGORITHM = 'MQv2-HMAC-SHA1';

export interface Credentials {
  accessKey: string;
  secret: string;
}

export interface ParsedAuthorization {
  accessKey: string;
  signature: string;
}

/** 2026-03-07T19:54:45.123Z => 20260307T195445Z */
export function requestDateTime(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 19).replace(/[-:]/g, '') + 'Z';
}

/** The milliseconds of a request date-time, or undefined when it is not one. */
export function parseRequestDateTime(text: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  return Number.isFinite(ms) && requestDateTime(ms) === text ? ms : undefined;
}

export function signatureOf(secret: string, dateTime: string): string {
  return createHmac('sha1', secret).update(dateTime).digest('hex').toUpperCase();
}

export function authorizationHeader(credentials: Credentials, dateTime: string): string {
  return `${ALGORITHM} Credential=${credentials.accessKey}, SignedHeaders=${DATE_TIME_HEADER}, Signature=${signatureOf(credentials.secret, dateTime)}`;
}

/** The headers that sign a request made at `nowMs`. */
export function signedHeaders(credentials: Credentials, nowMs: number): Record<string, string> {
  const dateTime = requestDateTime(nowMs);
  return { [DATE_TIME_HEADER]: dateTime, [AUTHORIZATION_HEADER]: authorizationHeader(credentials, dateTime) };
}

/** Reads an authorization header; undefined when it is not RocketMQ's MQv2 form. */
export function parseAuthorization(header: string): ParsedAuthorization | undefined {
  const match = /^MQv2-HMAC-SHA1 (.*)$/.exec(header.trim());
  if (!match) return undefined;
  const fields = new Map<string, string>();
  for (const part of match[1].split(',')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const accessKey = fields.get('Credential');
  const signature = fields.get('Signature');
  if (!accessKey || !signature || fields.get('SignedHeaders')?.toLowerCase() !== DATE_TIME_HEADER) return undefined;
  return { accessKey, signature };
}

/** Compares a claimed signature with the right one in constant time. */
export function signatureMatches(secret: string, dateTime: string, claimed: string): boolean {
  const expected = Buffer.from(signatureOf(secret, dateTime));
  const given = Buffer.from(claimed.toUpperCase());
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export type SignatureProblem = 'missing' | 'malformed' | 'bad-date-time' | 'clock-skew' | 'unknown-key' | 'bad-signature';

/**
 * Checks a request's signature headers: the access key must be known (`secretOf`), the date-time
 * within `skewMsMax` of `nowMs`, the signature right. Returns the access key or the problem.
 */
export function verifySignedHeaders(
  headers: { authorization: string; dateTime: string },
  secretOf: (accessKey: string) => string | undefined,
  nowMs: number,
  skewMsMax: number,
): { accessKey: string } | { problem: SignatureProblem; accessKey?: string } {
  if (!headers.authorization) return { problem: 'missing' };
  const parsed = parseAuthorization(headers.authorization);
  if (!parsed) return { problem: 'malformed' };
  const accessKey = parsed.accessKey;
  const signedAtMs = parseRequestDateTime(headers.dateTime);
  if (signedAtMs === undefined) return { problem: 'bad-date-time', accessKey };
  // The date-time has whole seconds: allow the second it was cut to.
  if (Math.abs(nowMs - signedAtMs) > skewMsMax + 1_000) return { problem: 'clock-skew', accessKey };
  const secret = secretOf(accessKey);
  if (secret === undefined) return { problem: 'unknown-key', accessKey };
  if (!signatureMatches(secret, headers.dateTime, parsed.signature)) return { problem: 'bad-signature', accessKey };
  return { accessKey };
}

export const SIGNATURE_PROBLEM_TEXT: Record<SignatureProblem, string> = {
  missing: 'the request is not signed (set the client\'s sessionCredentials)',
  malformed: 'the authorization header is not "MQv2-HMAC-SHA1 Credential=..., SignedHeaders=x-mq-date-time, Signature=..."',
  'bad-date-time': 'x-mq-date-time is missing or not yyyyMMddTHHmmssZ',
  'clock-skew': 'x-mq-date-time is too far from the server\'s clock (check the client\'s clock)',
  'unknown-key': 'unknown access key',
  'bad-signature': 'the signature does not match (wrong secret?)',
};

/** The access key of calls between our apps signed with the cluster's shared secret. */
export const CLUSTER_ACCESS_KEY = 'rmq-cluster';
