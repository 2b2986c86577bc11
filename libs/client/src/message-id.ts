// Message ids in the official clients' shape: 34 upper-case hex characters, "01", a per-process
// random stand-in for the MAC address, the pid, seconds since 2021 and a sequence number.
// Unique per process and time; the broker treats them as opaque.
import { randomBytes } from 'node:crypto';

const PROCESS_PART = `01${randomBytes(6).toString('hex')}${(process.pid & 0xffff).toString(16).padStart(4, '0')}`.toUpperCase();
const EPOCH_2021_MS = Date.UTC(2021, 0, 1);
let sequence = 0;

export function newMessageId(nowMs: number): string {
  const seconds = Math.floor((nowMs - EPOCH_2021_MS) / 1000) >>> 0;
  sequence = (sequence + 1) >>> 0;
  return `${PROCESS_PART}${seconds.toString(16).padStart(8, '0')}${sequence.toString(16).padStart(8, '0')}`.toUpperCase();
}
