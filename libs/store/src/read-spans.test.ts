import fc from 'fast-check';
import { planReadSpans, type RecordLocation } from './read-spans';

const FC_SEED = Number(process.env.FC_SEED ?? Date.now());

describe('planReadSpans', () => {
  it('joins records that are close, and starts a new span after a wide gap, at a segment boundary or past the span limit', () => {
    const locations = [
      { logOffset: 0, sizeBytes: 100 },
      { logOffset: 150, sizeBytes: 100 }, // 50 bytes after the first: joined
      { logOffset: 1_000, sizeBytes: 100 }, // 750 bytes after: a new span
      { logOffset: 1_024, sizeBytes: 50 }, // a new segment (segments of 1,024): a new span
      { logOffset: 1_100, sizeBytes: 900 }, // would make the span longer than 600: a new span
    ];
    expect(planReadSpans(locations, 1_024, 100, 600)).toEqual([
      { logOffset: 0, sizeBytes: 250, members: [0, 1] },
      { logOffset: 1_000, sizeBytes: 100, members: [2] },
      { logOffset: 1_024, sizeBytes: 50, members: [3] },
      { logOffset: 1_100, sizeBytes: 900, members: [4] },
    ]);
  });

  it(`covers every record exactly once, in order, within one segment per span (seed ${FC_SEED})`, () => {
    const arbitrary = fc.array(fc.record({ gap: fc.nat({ max: 5_000 }), sizeBytes: fc.integer({ min: 60, max: 3_000 }) }), { maxLength: 60 });
    fc.assert(
      fc.property(arbitrary, fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 3_000, max: 100_000 }), (records, gapBytesMax, spanBytesMax) => {
        const segmentSizeBytes = 16_384;
        let at = 0;
        const locations: RecordLocation[] = records.map(({ gap, sizeBytes }) => {
          at += gap;
          if (Math.floor(at / segmentSizeBytes) !== Math.floor((at + sizeBytes - 1) / segmentSizeBytes)) at = Math.ceil(at / segmentSizeBytes) * segmentSizeBytes;
          const location = { logOffset: at, sizeBytes };
          at += sizeBytes;
          return location;
        });
        const spans = planReadSpans(locations, segmentSizeBytes, gapBytesMax, spanBytesMax);
        expect(spans.flatMap((span) => span.members)).toEqual(locations.map((_, index) => index));
        for (const span of spans) {
          expect(Math.floor(span.logOffset / segmentSizeBytes)).toBe(Math.floor((span.logOffset + span.sizeBytes - 1) / segmentSizeBytes));
          for (const member of span.members) {
            expect(locations[member].logOffset).toBeGreaterThanOrEqual(span.logOffset);
            expect(locations[member].logOffset + locations[member].sizeBytes).toBeLessThanOrEqual(span.logOffset + span.sizeBytes);
          }
          if (span.members.length > 1) expect(span.sizeBytes).toBeLessThanOrEqual(spanBytesMax);
        }
      }),
      { numRuns: 300, seed: FC_SEED },
    );
  });
});
