// A reply frame that encodes itself when grpc-js serializes it: the broker's delivered messages
// are written straight from stored record bytes (apps/broker delivery-frame.ts), which this lib
// knows nothing of. The serializer hands it the scratch buffer every reply is encoded into.
import type { ScratchBuffer } from './wire';

export const SELF_ENCODING_FRAME = 'rmq.SelfEncodingFrame';

export interface SelfEncodingFrame {
  readonly $typeName: typeof SELF_ENCODING_FRAME;
  /** The frame's protobuf bytes, written into `scratch` (valid until its next use). */
  encodeInto(scratch: ScratchBuffer): Buffer;
}

export function isSelfEncodingFrame(m: unknown): m is SelfEncodingFrame {
  return (m as { $typeName?: string }).$typeName === SELF_ENCODING_FRAME;
}
