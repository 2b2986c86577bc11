// What the request budget costs a small call (`npm run bench:request-budget`): unary SendMessage
// calls of 1 KiB on a grpc-js server on loopback, in this process, answered at once, without and
// with requestBudgetInterceptor. Rounds alternate, so drift of the machine falls on both; the two
// "without" rounds' ratio shows the noise. Options: --count <calls per round> (default 20000),
// --rounds <per setting> (default 3), --concurrency <calls at once> (default 64).
import type * as grpc from '@grpc/grpc-js';
import { addService, createClient, listen, reply, shutdownServer } from './grpc-adapter';
import { createGrpcServer } from './grpc-server';
import { RequestBudget } from './request-budget';
import { requestBudgetInterceptor } from './request-budget-interceptor';
import * as v2 from './v2';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

async function round(withBudget: boolean, count: number, concurrency: number): Promise<number> {
  const budget = new RequestBudget({ bytesMax: 32 * 1024 * 1024, setting: 'bench' });
  const interceptors = withBudget ? [requestBudgetInterceptor(budget, { services: [v2.MessagingService], alwaysBudgeted: ['/apache.rocketmq.v2.MessagingService/SendMessage'] })] : [];
  const server = createGrpcServer({ interceptors });
  addService(server, v2.MessagingService, {
    sendMessage: (_call: unknown, callback: grpc.sendUnaryData<v2.SendMessageResponse>) => callback(null, reply(v2.SendMessageResponseSchema, { status: { code: v2.Code.OK } })),
  } as never);
  const port = await listen(server, '127.0.0.1', 0);
  const client = createClient(v2.MessagingService, `127.0.0.1:${port}`);
  const request = { messages: [{ topic: { name: 'Bench' }, body: Buffer.alloc(1024, 0x61) }] };
  try {
    const run = async (calls: number) => {
      let next = 0;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next++ < calls) await client.sendMessage(request, { deadlineMs: 10_000 });
      }));
    };
    await run(2_000); // warm-up
    const startedMs = performance.now();
    await run(count);
    return count / ((performance.now() - startedMs) / 1000);
  } finally {
    client.close();
    await shutdownServer(server, 1_000);
  }
}

async function main(): Promise<void> {
  const count = option('--count', 20_000);
  const rounds = option('--rounds', 3);
  const concurrency = option('--concurrency', 64);
  const without: number[] = [];
  const withBudget: number[] = [];
  for (let i = 0; i < rounds; i++) {
    without.push(await round(false, count, concurrency));
    withBudget.push(await round(true, count, concurrency));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  process.stdout.write(
    `request budget, ${count} unary sends of 1 KiB per round, ${concurrency} at once, ${rounds} rounds each (median calls/s):\n` +
      `  without ${median(without).toFixed(0)}   with ${median(withBudget).toFixed(0)}   with/without ${(median(withBudget) / median(without)).toFixed(3)}` +
      `   (noise: without rounds range ${(Math.min(...without) / Math.max(...without)).toFixed(3)})\n`,
  );
}

void main();
