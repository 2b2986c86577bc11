// A bidi method (ReplicationService.Follow's messages, a test handler) on the bidi fast path and on
// grpc-js, each on a real server on loopback, called by grpc-js's client and by PlainBidiCall:
// every pairing sees the same replies, statuses and ends; large replies written from reused frames
// arrive intact however far the writer runs ahead (write() false, 'drain'); a client's cancel and a
// deadline reach the handler as grpc-js signals them.
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { addService, createClient, listen, shutdownServer } from './grpc-adapter';
import { createGrpcServer } from './grpc-server';
import { serveBidiFastPath, encodesWhenWritten } from './bidi-fast-path';
import { PlainBidiCall } from './plain-bidi-call';
import { decodeFollowResponse } from './fast-codec/follow-codecs';
import { encodeFollowResponse } from './fast-codec/rpc-codecs';
import * as replication from './gen/rmq/replication/v1/replication_pb';
import { eventually } from '../test/eventually';

type FollowCall = grpc.ServerDuplexStream<replication.FollowRequest, replication.FollowResponse>;
type Reply = replication.FollowResponse;

const FOLLOW_PATH = '/rmq.replication.v1.ReplicationService/Follow';
const MIB = 1024 * 1024;

interface Seen {
  cancelled: number;
  ended: number;
  fastCalls: number;
}

const reply = (index: number, bytes: number) =>
  create(replication.FollowResponseSchema, { epoch: 1n, startLogOffset: BigInt(index), data: Buffer.alloc(bytes, index % 251), committedLogOffset: 7n, logEndOffset: 9n });

/**
 * By the Subscribe's broker name: "Echo" answers each Progress with a reply of written_log_offset
 * bytes, and ends OK when the client ends; "Refuse" fails at once; "FailLater" fails after two
 * replies; "Many" writes replica_id (a number) replies of 1 MiB, each after 'drain' when write()
 * answered false, then ends OK; "Hold" writes nothing.
 */
function followHandler(seen: Seen) {
  return (call: FollowCall) => {
    if (encodesWhenWritten(call)) seen.fastCalls++;
    call.on('cancelled', () => seen.cancelled++);
    call.on('error', () => undefined);
    call.on('end', () => {
      seen.ended++;
      call.end();
    });
    call.on('data', (request: replication.FollowRequest) => {
      if (request.kind.case === 'progress') {
        call.write(reply(0, Number(request.kind.value.writtenLogOffset)));
        return;
      }
      if (request.kind.case !== 'subscribe') return;
      const subscribe = request.kind.value;
      const fail = () => call.emit('error', Object.assign(new Error('refused'), { code: grpc.status.FAILED_PRECONDITION, details: 'refused: ä 100%' }));
      if (subscribe.brokerName === 'Refuse') return fail();
      if (subscribe.brokerName === 'FailLater') {
        call.write(reply(1, 10));
        call.write(reply(2, 100_000));
        return fail();
      }
      if (subscribe.brokerName === 'Many') {
        const count = Number(subscribe.replicaId);
        let index = 0;
        const next = (): void => {
          while (index < count && !call.cancelled) {
            if (!call.write(reply(index++, MIB))) return void call.once('drain', next);
          }
          if (index === count) call.end();
        };
        next();
      }
    });
  };
}

const subscribe = (brokerName: string, replicaId = '') =>
  create(replication.FollowRequestSchema, { kind: { case: 'subscribe', value: { brokerName, replicaId } } });
const progress = (written: number) =>
  create(replication.FollowRequestSchema, { kind: { case: 'progress', value: { writtenLogOffset: BigInt(written), durableLogOffset: 0n } } });

interface FollowClient {
  write(request: replication.FollowRequest): unknown;
  cancel(): void;
  end(): void;
  on(event: string, listener: (...args: any[]) => void): unknown; // as grpc-js's and EventEmitter's listeners
}

/** Every reply until the call ends, and its end: 'OK' or the error's code and details. */
function outcome(call: FollowClient): Promise<{ replies: Reply[]; end: string }> {
  return new Promise((resolve) => {
    const replies: Reply[] = [];
    call.on('data', (r: Reply) => replies.push(r));
    call.on('error', (error: grpc.ServiceError) => resolve({ replies, end: `${error.code} ${error.details}` }));
    call.on('end', () => resolve({ replies, end: 'OK' }));
  });
}

/** A reply as data bytes' length and fill, and its offsets. */
const shape = (r: Reply) => ({ start: r.startLogOffset, bytes: r.data.length, fill: r.data.length ? [r.data[0], r.data[r.data.length - 1]] : [], committed: r.committedLogOffset, end: r.logEndOffset });

describe('bidi fast path (Follow)', () => {
  const fastSeen: Seen = { cancelled: 0, ended: 0, fastCalls: 0 };
  const grpcSeen: Seen = { cancelled: 0, ended: 0, fastCalls: 0 };
  const servers: grpc.Server[] = [];
  const addresses: Record<'fast' | 'grpc', string> = { fast: '', grpc: '' };
  const clients: ReturnType<typeof createClient<typeof replication.ReplicationService.method>>[] = [];
  let installed = false;

  beforeAll(async () => {
    for (const kind of ['grpc', 'fast'] as const) {
      const server = createGrpcServer({ receiveMessageBytesMax: 4 * MIB });
      const handler = followHandler(kind === 'fast' ? fastSeen : grpcSeen);
      addService(server, replication.ReplicationService, { describeLog: () => undefined, follow: handler } as never);
      addresses[kind] = `127.0.0.1:${await listen(server, '127.0.0.1', 0)}`;
      if (kind === 'fast') {
        installed = serveBidiFastPath(server, [{
          path: FOLLOW_PATH, decode: (bytes) => fromBinary(replication.FollowRequestSchema, bytes), encodeInto: encodeFollowResponse as never, handler: handler as never, replyFrameBytesMax: MIB + 1024,
        }], { receiveBytesMax: 4 * MIB });
      }
      servers.push(server);
    }
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await Promise.all(servers.map((server) => shutdownServer(server, 1_000)));
  });

  const grpcClient = (kind: 'fast' | 'grpc', options: { deadlineMs?: number } = {}): FollowClient => {
    const client = createClient(replication.ReplicationService, addresses[kind], { 'grpc-node.flow_control_window': 2 * MIB });
    clients.push(client);
    return client.follow(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }) as unknown as FollowClient;
  };
  const plainClient = (kind: 'fast' | 'grpc', receiveWindowBytes = 2 * MIB): FollowClient =>
    new PlainBidiCall<replication.FollowRequest, Reply>({
      endpoint: addresses[kind], path: FOLLOW_PATH, encode: (request) => toBinary(replication.FollowRequestSchema, request), decode: decodeFollowResponse, receiveWindowBytes, receiveBytesMax: 2 * MIB,
    });
  const pairings = [
    ['grpc-js client', grpcClient],
    ['plain client', (kind: 'fast' | 'grpc') => plainClient(kind)],
  ] as const;

  it('is installed, and the handler is told its call encodes on write', async () => {
    expect(installed).toBe(true);
    const call = plainClient('fast');
    const done = outcome(call);
    call.write(subscribe('Refuse'));
    await done;
    expect(fastSeen.fastCalls).toBeGreaterThan(0);
    expect(grpcSeen.fastCalls).toBe(0);
  });

  it.each(pairings)('answers requests as they come and ends OK after the client ends (%s), as grpc-js does', async (_name, open) => {
    const results = [];
    for (const kind of ['grpc', 'fast'] as const) {
      const call = open(kind);
      const done = outcome(call);
      call.write(subscribe('Echo'));
      for (const bytes of [0, 1, 300, 70_000, 1_000_000]) call.write(progress(bytes));
      call.end();
      const { replies, end } = await done;
      results.push({ replies: replies.map(shape), end });
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0].replies.map((r) => r.bytes)).toEqual([0, 1, 300, 70_000, 1_000_000]);
    expect(results[0].end).toBe('OK');
  });

  it.each(pairings)('ends with the handler\'s status, before any reply and after some (%s)', async (_name, open) => {
    for (const name of ['Refuse', 'FailLater']) {
      const results = [];
      for (const kind of ['grpc', 'fast'] as const) {
        const call = open(kind);
        const done = outcome(call);
        call.write(subscribe(name));
        const { replies, end } = await done;
        results.push({ replies: replies.map(shape), end });
      }
      expect(results[1]).toEqual(results[0]);
      expect(results[0].end).toBe(`${grpc.status.FAILED_PRECONDITION} refused: ä 100%`);
      expect(results[0].replies.length).toBe(name === 'Refuse' ? 0 : 2);
    }
  });

  it.each(pairings)('writes 40 replies of 1 MiB from reused frames, each intact, waiting for drain (%s)', async (_name, open) => {
    const call = open('fast');
    const done = outcome(call);
    call.write(subscribe('Many', '40'));
    const { replies, end } = await done;
    expect(end).toBe('OK');
    expect(replies.map(shape)).toEqual(Array.from({ length: 40 }, (_, index) => shape(reply(index, MIB))));
    // Every byte, not only the ends: a frame reused too early would carry a later reply's fill.
    for (const [index, r] of replies.entries()) expect(r.data.every((byte) => byte === index % 251)).toBe(true);
  });

  it('tells the handler when the client cancels, as grpc-js does', async () => {
    for (const kind of ['grpc', 'fast'] as const) {
      const seen = kind === 'fast' ? fastSeen : grpcSeen;
      const before = seen.cancelled;
      const call = plainClient(kind);
      const done = outcome(call);
      const answered = new Promise((resolve) => call.on('data', resolve));
      call.write(subscribe('Hold'));
      call.write(progress(5));
      await answered; // the handler has the call
      call.cancel();
      expect((await done).end).toBe(`${grpc.status.CANCELLED} Cancelled on client`);
      await eventually(() => expect({ kind, cancelled: seen.cancelled }).toEqual({ kind, cancelled: before + 1 }));
    }
  });

  it('ends a call past its grpc-timeout with DEADLINE_EXCEEDED, and the handler sees it cancelled', async () => {
    const before = fastSeen.cancelled;
    const call = grpcClient('fast', { deadlineMs: 200 });
    const done = outcome(call);
    call.write(subscribe('Hold'));
    expect((await done).end).toMatch(new RegExp(`^${grpc.status.DEADLINE_EXCEEDED} `));
    await eventually(() => expect(fastSeen.cancelled).toBe(before + 1));
  });

  it('a plain client refuses a reply larger than its limit with RESOURCE_EXHAUSTED', async () => {
    const call = new PlainBidiCall<replication.FollowRequest, Reply>({
      endpoint: addresses.fast, path: FOLLOW_PATH, encode: (request) => toBinary(replication.FollowRequestSchema, request), decode: decodeFollowResponse, receiveWindowBytes: 2 * MIB, receiveBytesMax: 1000,
    });
    const done = outcome(call);
    call.write(subscribe('Echo'));
    call.write(progress(900));
    call.write(progress(2000));
    const { replies, end } = await done;
    expect(replies.map((r) => r.data.length)).toEqual([900]);
    expect(end).toMatch(new RegExp(`^${grpc.status.RESOURCE_EXHAUSTED} Received message larger than max`));
  });
});
