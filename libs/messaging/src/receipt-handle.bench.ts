// Receipt-handle cost (`npm run bench:receipt-handle`): mint + verify of the r3 format (SipHash-2-4
// resumed from the (group, topic) prefix, no names in the handle) against r2 (names in the handle,
// SipHash over all of it) and r1 (base64url JSON + HMAC-SHA256), measured in the same run.
// `verify, ack batch` reads 1,000 different handles into one reused object, as an AckMessage does;
// `compare, ack batch` is an ack's check of a handle its delivery still holds as minted (its
// position read, then the text compared with a copy of it: consumer-acks.ts).
import { createHmac, randomBytes } from 'node:crypto';
import { decodeReceiptHandle, encodeReceiptHandle, encodeReceiptHandleV2, macV1, receiptHandlePosition, sameReceiptHandle, verifyReceiptHandle, type ReceiptHandle } from './receipt-handle';

const ROUNDS = 200_000;
const BATCH = 1_000;
const secret = randomBytes(32);
// Names and delivery ids as peerbench's rocketmq-raw run makes them.
const handle: ReceiptHandle = { group: 'pb-g-1765080000000-abcdef', topic: 'pb-1765080000000-abcdef', queueId: 5, queueOffset: 123_456, deliveryId: '1a2b3c4d-1a2b' };
const { group, topic } = handle;

function encodeV1(h: ReceiptHandle): string {
  const payload = Buffer.from(JSON.stringify(['r1', h.group, h.topic, h.queueId, h.queueOffset, h.deliveryId])).toString('base64url');
  return `${payload}.${macV1(payload, secret)}`;
}

function nsPerRound(fn: (i: number) => void, rounds = ROUNDS): number {
  for (let i = 0; i < rounds / 10; i++) fn(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn(i);
  return Number(process.hrtime.bigint() - started) / rounds;
}

createHmac('sha256', secret); // load the crypto binding before timing
const batch = (mint: (h: ReceiptHandle, s: Buffer) => string) =>
  Array.from({ length: BATCH }, (_, i) => mint({ ...handle, queueOffset: handle.queueOffset + i, deliveryId: `1a2b3c4d-${(46_000 + i).toString(36)}` }, secret));
const r2Batch = batch(encodeReceiptHandleV2);
const r3Batch = batch(encodeReceiptHandle);
// The handles as their in-flight entries keep them: equal text, other strings (as a request's decoding makes them).
const r3Kept = r3Batch.map((text) => Buffer.from(text).toString('latin1'));
const out: ReceiptHandle = { group: '', topic: '', queueId: 0, queueOffset: 0, deliveryId: '', push: undefined, member: undefined };
const r1Text = encodeV1(handle);
const rows: [string, number][] = [];
for (let round = 1; round <= 3; round++) {
  // Interleaved, three rounds: the machine is shared, so each pair is measured close in time.
  rows.push(
    [`r1 mint (JSON + HMAC-SHA256) #${round}`, nsPerRound(() => encodeV1(handle), ROUNDS / 10)],
    [`r1 verify #${round}`, nsPerRound(() => decodeReceiptHandle(r1Text, secret, group, topic), ROUNDS / 10)],
    [`r2 mint #${round}`, nsPerRound((i) => encodeReceiptHandleV2({ ...handle, queueOffset: i }, secret))],
    [`r3 mint #${round}`, nsPerRound((i) => encodeReceiptHandle({ ...handle, queueOffset: i }, secret))],
    [`r2 verify, ack batch #${round}`, nsPerRound((i) => verifyReceiptHandle(r2Batch[i % BATCH], secret, group, topic, out))],
    [`r3 verify, ack batch #${round}`, nsPerRound((i) => verifyReceiptHandle(r3Batch[i % BATCH], secret, group, topic, out))],
    [`r3 compare, ack batch #${round}`, nsPerRound((i) => {
      if (!receiptHandlePosition(r3Batch[i % BATCH], out) || !sameReceiptHandle(r3Kept[out.queueOffset - handle.queueOffset], r3Batch[i % BATCH])) throw new Error('not the kept handle');
    })],
  );
}
for (const [name, ns] of rows) console.log(`${name.padEnd(36)} ${(ns / 1000).toFixed(3).padStart(7)} µs`);
const median = (prefix: string) => {
  const values = rows.filter(([name]) => name.startsWith(prefix)).map(([, ns]) => ns).sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)];
};
console.log(`handle length: r1 ${r1Text.length}, r2 ${r2Batch[0].length}, r3 ${r3Batch[0].length} characters`);
console.log(`medians: r3 / r2: mint ${(median('r3 mint') / median('r2 mint')).toFixed(2)}x, verify ${(median('r3 verify') / median('r2 verify')).toFixed(2)}x; ` +
  `mint + verify r2 ${((median('r2 mint') + median('r2 verify')) / 1000).toFixed(3)} µs, r3 ${((median('r3 mint') + median('r3 verify')) / 1000).toFixed(3)} µs; ` +
  `r3 check by comparison / by tag ${(median('r3 compare') / median('r3 verify')).toFixed(2)}x`);
