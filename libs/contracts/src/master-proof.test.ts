import { Metadata } from '@grpc/grpc-js';
import { answerMasterChallenge, challengeMaster, MASTER_CHALLENGE_HEADER, MASTER_PROOF_HEADER } from './master-proof';

const SECRET = 'the-cluster-secret';

describe('the master\'s proof of the cluster secret', () => {
  it('is accepted from a master of the group holding the secret, for this challenge only', () => {
    const challenge = challengeMaster(SECRET, 'group-a', new Metadata());
    expect(String(challenge.metadata.get(MASTER_CHALLENGE_HEADER)[0])).toMatch(/^[0-9a-f]{32}$/);
    const answer = answerMasterChallenge(SECRET, challenge.metadata, 'group-a');
    expect(challenge.problem(answer)).toBeUndefined();
    // A proof recorded for another call does not answer a fresh challenge.
    expect(challengeMaster(SECRET, 'group-a', new Metadata()).problem(answer)).toMatch(/does not match/);
  });

  it('is refused when missing, made with another secret, or by a master of another group', () => {
    const challenge = challengeMaster(SECRET, 'group-a', new Metadata());
    expect(challenge.problem(undefined)).toMatch(/carries no proof/);
    expect(challenge.problem(new Metadata())).toMatch(/carries no proof/);
    expect(challenge.problem(answerMasterChallenge('another-secret', challenge.metadata, 'group-a'))).toMatch(/does not match this broker's cluster secret and group group-a/);
    expect(challenge.problem(answerMasterChallenge(SECRET, challenge.metadata, 'group-b'))).toMatch(/does not match/);
    const garbage = new Metadata();
    garbage.set(MASTER_PROOF_HEADER, 'zz');
    expect(challenge.problem(garbage)).toMatch(/does not match/);
  });

  it('is not given without a well-formed challenge', () => {
    expect(answerMasterChallenge(SECRET, new Metadata(), 'group-a')).toBeUndefined();
    const odd = new Metadata();
    odd.set(MASTER_CHALLENGE_HEADER, 'not-hex');
    expect(answerMasterChallenge(SECRET, odd, 'group-a')).toBeUndefined();
  });
});
