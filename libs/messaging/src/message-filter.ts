// What a subscription's filter answers while messages are read for a consumer group: first on
// the tag hash in the queue index (cheap, may let through hash collisions), then on the record
// itself (its tag and user properties). Tag filters and SQL92 filters both implement it.

export interface MessageFilter {
  /** True when the filter takes every message (no check needed at all). */
  readonly acceptsAll: boolean;
  /** A first, cheap check on the queue index's tag hash; true means "read the record and ask accept". */
  acceptTagHash(tagHash: number): boolean;
  /** The final answer, on the message's tag and its user properties (without any storage prefix). */
  accept(tag: string | undefined, userProperties: ReadonlyMap<string, string>): boolean;
}
