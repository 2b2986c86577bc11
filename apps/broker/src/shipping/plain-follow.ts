// A slave's Follow stream over plain HTTP/2 (libs/contracts plain-bidi-call.ts) instead of
// grpc-js: each shipped batch's bytes are copied once, as they arrive, into memory the store then
// keeps as its log's chunks, and decoded in place (follow-codecs.ts); progress reports are encoded
// without building messages. Only without TLS and without a cluster secret (signed calls and the
// master's proof go through grpc-js, as before) and without tracing.
import { decodeFollowResponse, encodeFollowProgress, PlainBidiCall, replication, toBinary } from '@rmq/contracts';
import { REPLICATION_LIMITS } from './limits';

/** A FollowResponse holds one batch plus a few offsets; what is larger is refused. */
const FOLLOW_RESPONSE_BYTES_MAX = REPLICATION_LIMITS.batchBytesMax + 64 * 1024;

export function openPlainFollow(masterEndpoint: string, signal: AbortSignal, receiveWindowBytes: number): PlainBidiCall<replication.FollowRequest, replication.FollowResponse> {
  return new PlainBidiCall<replication.FollowRequest, replication.FollowResponse>({
    endpoint: masterEndpoint,
    path: `/${replication.ReplicationService.typeName}/Follow`,
    encode: (request) => request.kind.case === 'progress'
      ? encodeFollowProgress(Number(request.kind.value.writtenLogOffset), Number(request.kind.value.durableLogOffset))
      : toBinary(replication.FollowRequestSchema, request),
    decode: decodeFollowResponse,
    receiveWindowBytes,
    receiveBytesMax: FOLLOW_RESPONSE_BYTES_MAX,
    signal,
  });
}
