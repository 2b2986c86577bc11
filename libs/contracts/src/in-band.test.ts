import { inBand } from './in-band';
import * as v2 from './v2';

const log = { error: () => undefined, debug: () => undefined };

describe('inBand', () => {
  it('hands the request to the handler and leaves the call without it (the call lives until the reply)', async () => {
    const request = { $typeName: 'apache.rocketmq.v2.HeartbeatRequest' };
    const call = { request, metadata: { get: () => [] }, cancelled: false, once: () => undefined };
    let handed: unknown;
    let answer = (): void => undefined;
    const handler = inBand('Heartbeat', v2.HeartbeatResponseSchema, (got: unknown) => {
      handed = got;
      return new Promise((resolve) => (answer = () => resolve({})));
    }, log, () => undefined);
    const replied = new Promise((resolve) => handler(call as never, (error, reply) => resolve(error ?? reply)));
    expect(handed).toBe(request);
    expect(call.request).toBeUndefined();
    answer();
    expect(await replied).toMatchObject({ status: { code: v2.Code.OK } });
  });
});
