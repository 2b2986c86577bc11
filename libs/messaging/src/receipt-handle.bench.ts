// Receipt-handle cost (`node tools/run-ts.mjs libs/messaging/src/receipt-handle.bench.ts`): mint + verify
// of the r2 binary/SipHash format against r1 (base64url JSON + HMAC-SHA256), measured in the same run.
import { createHmac, randomBytes } from 'node:crypto';
import { decodeReceiptHandle, encodeReceiptHandle, macV1, type ReceiptHandle } from './receipt-handle';

const ROUNDS = 100_000;
const secret = randomBytes(32);
const handle: ReceiptHandle = { group: 'pb-g-1765080000000-abcdef', topic: 'pb-1765080000000-abcdef', queueId: 5, queueOffset: 123_456, deliveryId: 'lzx1k2-1a2b' };

function encodeV1(h: ReceiptHandle): string {
  const payload = Buffer.from(JSON.stringify(['r1', h.group, h.topic, h.queueId, h.queueOffset, h.deliveryId])).toString('base64url');
  return `${payload}.${macV1(payload, secret)}`;
}

function nsPerRound(fn: () => void): number {
  for (let i = 0; i < ROUNDS / 10; i++) fn();
  const started = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) fn();
  return Number(process.hrtime.bigint() - started) / ROUNDS;
}

createHmac('sha256', secret); // load the crypto binding before timing
const r1Text = encodeV1(handle);
const r2Text = encodeReceiptHandle(handle, secret);
const rows = [
  ['r1 mint (JSON + HMAC-SHA256)', nsPerRound(() => encodeV1(handle))],
  ['r1 verify', nsPerRound(() => decodeReceiptHandle(r1Text, secret))],
  ['r2 mint (binary + SipHash-2-4)', nsPerRound(() => encodeReceiptHandle(handle, secret))],
  ['r2 verify', nsPerRound(() => decodeReceiptHandle(r2Text, secret))],
] as const;
for (const [name, ns] of rows) console.log(`${name.padEnd(34)} ${(ns / 1000).toFixed(2).padStart(7)} µs`);
console.log(`handle length: r1 ${r1Text.length} chars, r2 ${r2Text.length} chars`);
console.log(`r2 / r1: mint ${(rows[2][1] / rows[0][1]).toFixed(2)}x, verify ${(rows[3][1] / rows[1][1]).toFixed(2)}x`);
