// Millisecond conversions for google.protobuf.Timestamp and Duration. Built as literals: the same
// objects create() makes, without its reflection (these are made for every delivered message).
import type { Duration, Timestamp } from '@bufbuild/protobuf/wkt';

export function timestampFromMs(ms: number): Timestamp {
  return { $typeName: 'google.protobuf.Timestamp', seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

export function timestampMs(timestamp: Timestamp): number {
  return Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1_000_000);
}

export function durationFromMs(ms: number): Duration {
  return { $typeName: 'google.protobuf.Duration', seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

export function durationMs(duration: Duration): number {
  return Number(duration.seconds) * 1000 + Math.floor(duration.nanos / 1_000_000);
}
