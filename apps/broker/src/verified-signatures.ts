// Request signatures already verified, so a client's calls within one second (the official client
// signs x-mq-date-time, which changes once a second) cost one HMAC instead of one per call. A
// signature is a function of the authorization header, the date-time and the user's secret: an
// entry answers only for those exact three (the secret is compared on every hit, so a changed
// secret or a deleted user is refused at once), and the clock skew is checked on every call as
// before. A signature that fails is never cached: it is verified again on the next call.
import { parseRequestDateTime, verifySignedHeaders, type SignatureProblem } from '@rmq/base';

/** Entries kept: past it the cache starts over (one entry per client and second in use). */
const VERIFIED_SIGNATURES_MAX = 4_096;

interface Verified {
  accessKey: string;
  secret: string;
  signedAtMs: number;
}

export type SignatureVerdict = { accessKey: string } | { problem: SignatureProblem; accessKey?: string };

export class VerifiedSignatures {
  private readonly entries = new Map<string, Verified>();

  constructor(private readonly entriesMax = VERIFIED_SIGNATURES_MAX) {}

  /** verifySignedHeaders, answered from the cache when these headers were verified with this secret. */
  verify(headers: { authorization: string; dateTime: string }, secretOf: (accessKey: string) => string | undefined, nowMs: number, skewMsMax: number): SignatureVerdict {
    const key = `${headers.dateTime}\n${headers.authorization}`;
    const known = this.entries.get(key);
    if (known) {
      // The date-time has whole seconds: allow the second it was cut to (as verifySignedHeaders does).
      if (Math.abs(nowMs - known.signedAtMs) > skewMsMax + 1_000) return { problem: 'clock-skew', accessKey: known.accessKey };
      const secret = secretOf(known.accessKey);
      if (secret === known.secret) return { accessKey: known.accessKey };
      this.entries.delete(key);
    }
    const verdict = verifySignedHeaders(headers, secretOf, nowMs, skewMsMax);
    if (!('problem' in verdict)) {
      if (this.entries.size >= this.entriesMax) this.entries.clear();
      this.entries.set(key, { accessKey: verdict.accessKey, secret: secretOf(verdict.accessKey)!, signedAtMs: parseRequestDateTime(headers.dateTime)! });
    }
    return verdict;
  }

  get size(): number {
    return this.entries.size;
  }
}
