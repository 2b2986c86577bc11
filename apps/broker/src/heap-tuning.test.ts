import { HEAP_FLAGS, heapFlagsToApply } from './heap-tuning';

describe('heapFlagsToApply', () => {
  it('applies the broker heap flags when node was started without them', () => {
    expect(HEAP_FLAGS).toContain('--no-allocation-site-pretenuring');
    expect(heapFlagsToApply([])).toEqual(HEAP_FLAGS);
    expect(heapFlagsToApply(['--enable-source-maps', '--max-semi-space-size=32'])).toEqual(HEAP_FLAGS);
  });

  it('leaves a flag alone that node was given, either way and in either spelling', () => {
    expect(heapFlagsToApply(['--allocation-site-pretenuring'])).toEqual([]);
    expect(heapFlagsToApply(['--no-allocation-site-pretenuring'])).toEqual([]);
    expect(heapFlagsToApply(['--allocation_site_pretenuring'])).toEqual([]);
  });
});
