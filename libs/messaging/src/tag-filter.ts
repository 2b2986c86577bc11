// Tag subscriptions: "*" (or empty) takes everything; "TagA || TagB" takes those tags. The
// index's tag hash rejects most non-matching messages without reading them; the tag itself is
// compared afterwards because hashes can collide.
import { RmqError } from '@rmq/base';
import { tagHashOf } from '@rmq/store';
import type { MessageFilter } from './message-filter';

export interface TagFilter extends MessageFilter {
  acceptTag(tag: string | undefined): boolean;
}

const TAG_PATTERN = /^[^|\s*]+$/;
/** "*": one filter for every receive that takes everything (the official consumers' default), not four closures per call. */
const ACCEPT_ALL: TagFilter = Object.freeze({ acceptsAll: true, acceptTagHash: () => true, acceptTag: () => true, accept: () => true });

export function parseTagExpression(expression: string): TagFilter {
  const text = expression.trim();
  if (text === '' || text === '*') return ACCEPT_ALL;
  const tags = text.split('||').map((tag) => tag.trim());
  for (const tag of tags) {
    if (!TAG_PATTERN.test(tag)) {
      throw new RmqError('ILLEGAL_FILTER_EXPRESSION', { expression: JSON.stringify(expression), reason: 'use * or tags joined by ||, e.g. "TagA || TagB"' });
    }
  }
  const tagSet = new Set(tags);
  const hashes = new Set(tags.map(tagHashOf));
  const acceptTag = (tag: string | undefined) => tag !== undefined && tagSet.has(tag);
  return {
    acceptsAll: false,
    acceptTagHash: (tagHash) => hashes.has(tagHash),
    acceptTag,
    accept: (tag) => acceptTag(tag),
  };
}
