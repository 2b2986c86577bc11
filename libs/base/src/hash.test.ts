import { fnv1a32 } from './hash';

describe('fnv1a32', () => {
  it('gives the FNV-1a values of the reference (values are on disk: they must never change)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });
});
