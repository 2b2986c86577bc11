// A slave's Follow stream over plain HTTP/2 (libs/contracts plain-bidi-call.ts) instead of
// grpc-js: each shipped batch's bytes are copied once, as they arrive, into memory the store then
// keeps as its log's chunks (and gives back for reuse once no one needs them: replicaBuffer), and
// decoded in place (follow-codecs.ts); progress reports are encoded
// without building messages. Only without TLS and without a cluster secret (signed calls and the
// master's proof go through grpc-js, as before) and without tracing.
import { decodeFollowResponse, encodeFollowProgress, PlainBidiCall, replication, toBinary } from '@rmq/contracts';
import type { MessageStore } from '@rmq/store';
import { REPLICATION_LIMITS } from './limits';

/** A FollowResponse holds one batch plus a few offsets; what is larger is refused. */
const FOLLOW_RESPONSE_BYTES_MAX = REPLICATION_LIMITS.batchBytesMax + 64 * 1024;
/** Replies from this size on are received into the store's reused replica buffers; smaller ones (offsets only, a few records) into fresh memory. */
const REUSED_REPLY_BYTES_MIN = 64 * 1024;

export function openPlainFollow(masterEndpoint: string, signal: AbortSignal, receiveWindowBytes: number, store: MessageStore): PlainBidiCall<replication.FollowRequest, replication.FollowResponse> {
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
    // The store adopts the batch's bytes as its log's chunks and hands the memory back once no one needs them.
    allocate: (sizeBytes) => (sizeBytes >= REUSED_REPLY_BYTES_MIN ? store.replicaBuffer(sizeBytes, FOLLOW_RESPONSE_BYTES_MAX) : Buffer.allocUnsafe(sizeBytes)),
  });
}
