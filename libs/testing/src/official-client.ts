// The official rocketmq-client-nodejs as tests and benchmarks use it: silent, and a producer
// started in one call.
import { Producer } from 'rocketmq-client-nodejs';

/** A logger for the official client that prints nothing (by default it writes to the console and ~/logs). */
export const quietClientLogger = { info() {}, warn() {}, error() {}, debug() {} } as never;

/** An official producer connected to `endpoints`, started (its settings handshake done). */
export async function startOfficialProducer(endpoints: string): Promise<Producer> {
  const producer = new Producer({ endpoints, namespace: '', logger: quietClientLogger });
  await producer.startup();
  return producer;
}
