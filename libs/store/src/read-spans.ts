// Reading many records of one queue with few reads: records of a queue sit close together in the
// log (other queues' records in between), so records no more than READ_GAP_BYTES_MAX apart are
// read as one span of at most READ_SPAN_BYTES_MAX, never across a segment boundary. One read of
// 256 KiB costs about what one read of 1 KiB does; 32 reads cost 32 thread-pool round trips.

export interface RecordLocation {
  logOffset: number;
  sizeBytes: number;
}

export interface ReadSpan {
  logOffset: number;
  sizeBytes: number;
  /** Indexes into the locations this span covers. */
  members: number[];
}

/** Spans covering `locations` (in ascending log order), in that order. */
export function planReadSpans(locations: readonly RecordLocation[], segmentSizeBytes: number, gapBytesMax: number, spanBytesMax: number): ReadSpan[] {
  const spans: ReadSpan[] = [];
  let current: ReadSpan | undefined;
  locations.forEach((location, index) => {
    const end = location.logOffset + location.sizeBytes;
    if (current) {
      const currentEnd = current.logOffset + current.sizeBytes;
      const sameSegment = Math.floor(current.logOffset / segmentSizeBytes) === Math.floor(location.logOffset / segmentSizeBytes);
      if (sameSegment && location.logOffset >= currentEnd && location.logOffset - currentEnd <= gapBytesMax && end - current.logOffset <= spanBytesMax) {
        current.sizeBytes = end - current.logOffset;
        current.members.push(index);
        return;
      }
    }
    current = { logOffset: location.logOffset, sizeBytes: location.sizeBytes, members: [index] };
    spans.push(current);
  });
  return spans;
}
