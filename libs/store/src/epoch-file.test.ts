import { join } from 'node:path';
import { makeTempDir } from '@rmq/testing';
import { EpochFile, truncationPoint } from './epoch-file';

describe('EpochFile', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('epochs')));
  afterEach(() => temp.remove());

  it('keeps epochs in order across a reopen, forgets those after a cut, and refuses one going back', async () => {
    const path = join(temp.path, 'epochs.json');
    const file = await EpochFile.open(path);
    await file.begin(1, 0);
    await file.begin(3, 5_000);
    await file.begin(3, 5_000); // the same again: nothing changes
    await file.begin(4, 9_000);
    expect((await EpochFile.open(path)).entries()).toEqual([{ epoch: 1, startLogOffset: 0 }, { epoch: 3, startLogOffset: 5_000 }, { epoch: 4, startLogOffset: 9_000 }]);
    await file.truncateFrom(6_000);
    expect(file.last()).toEqual({ epoch: 3, startLogOffset: 5_000 });
    await expect(file.begin(2, 7_000)).rejects.toThrow('an epoch must be newer than the last one');
    await expect(file.begin(5, 4_000)).rejects.toThrow('an epoch must be newer than the last one and start no earlier');
  });
});

describe('truncationPoint', () => {
  it('keeps everything when the replica is a prefix of the master', () => {
    expect(truncationPoint([{ epoch: 1, startLogOffset: 0 }], [{ epoch: 1, startLogOffset: 0 }, { epoch: 2, startLogOffset: 800 }], 1_000, 600)).toBe(600);
  });

  it('cuts what the replica wrote past the end of the epoch on the master (an old master coming back)', () => {
    // The replica was master of epoch 2 and wrote up to 900; the new master took over in epoch 3 at 700.
    const mine = [{ epoch: 1, startLogOffset: 0 }, { epoch: 2, startLogOffset: 500 }];
    const theirs = [{ epoch: 1, startLogOffset: 0 }, { epoch: 2, startLogOffset: 500 }, { epoch: 3, startLogOffset: 700 }];
    expect(truncationPoint(mine, theirs, 1_200, 900)).toBe(700);
  });

  it('cuts everything written in an epoch the master never had', () => {
    const mine = [{ epoch: 1, startLogOffset: 0 }, { epoch: 4, startLogOffset: 400 }];
    const theirs = [{ epoch: 1, startLogOffset: 0 }, { epoch: 5, startLogOffset: 450 }];
    expect(truncationPoint(mine, theirs, 2_000, 1_000)).toBe(400);
  });

  it('keeps nothing when the two share no epoch, and everything when the replica has none', () => {
    expect(truncationPoint([{ epoch: 2, startLogOffset: 0 }], [{ epoch: 3, startLogOffset: 0 }], 100, 50)).toBe(0);
    expect(truncationPoint([], [{ epoch: 1, startLogOffset: 0 }], 100, 50)).toBe(50);
  });
});
