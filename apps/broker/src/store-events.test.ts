import { storeHealth } from './store-events';

describe('/health of the store', () => {
  it('is healthy while the store writes, and names the reason when it refuses writes or fails checkpoints', () => {
    expect(storeHealth({})).toEqual([]);
    expect(storeHealth({ writeRefusal: 'the store cannot write now (EIO on write: injected)', checkpointProblem: 'EMFILE on checkpoint: too many open files' })).toEqual([
      'store refuses writes: the store cannot write now (EIO on write: injected)',
      'store checkpoint failing: EMFILE on checkpoint: too many open files',
    ]);
  });
});
