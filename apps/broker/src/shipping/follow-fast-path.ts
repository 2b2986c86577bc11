// The Follow stream on the bidi fast path (libs/contracts bidi-fast-path.ts): each log batch is
// encoded once, into a reused frame, straight from the append buffer (log-shipper.ts reads it as
// a view when the call encodes on write). Only where the messaging fast path runs: no call guard,
// no cluster secret, no tracing (grpc-js serves Follow then, as before).
import { encodeFollowResponse, fromBinary, replication, type FastBidiMethod } from '@rmq/contracts';
import { REPLICATION_LIMITS } from './limits';

/** A FollowResponse's bytes beyond its data: five tags, four int64 varints and a length, rounded up. */
const FOLLOW_RESPONSE_OVERHEAD_BYTES = 1024;

export function followFastMethod(follow: unknown): FastBidiMethod {
  return {
    path: `/${replication.ReplicationService.typeName}/Follow`,
    decode: (bytes) => fromBinary(replication.FollowRequestSchema, bytes),
    encodeInto: encodeFollowResponse as FastBidiMethod['encodeInto'],
    handler: follow as FastBidiMethod['handler'],
    replyFrameBytesMax: REPLICATION_LIMITS.batchBytesMax + FOLLOW_RESPONSE_OVERHEAD_BYTES,
  };
}
