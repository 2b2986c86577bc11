// A server-wide budget of request bytes in flight: read from the network, decoded, and not yet
// answered. A call that would take the total past the bound is refused at once with
// TOO_MANY_REQUESTS (clients back off and retry) instead of being held in memory; its bytes are
// given back whatever ends the call. request-budget-interceptor.ts applies it to a gRPC server.
import { RmqError } from '@rmq/base';

const MIB = 1024 * 1024;

export interface RequestBudgetOptions {
  bytesMax: number;
  /** The setting that sets `bytesMax`, named in refusals, e.g. "--requests-in-flight-max-mib". */
  setting: string;
}

export class RequestBudget {
  private inFlight = 0;
  private refused = 0;

  constructor(private readonly options: RequestBudgetOptions) {}

  get bytesMax(): number {
    return this.options.bytesMax;
  }

  /** Bytes of the calls admitted and not yet ended. */
  get inFlightBytes(): number {
    return this.inFlight;
  }

  /** Calls refused since start. */
  get refusals(): number {
    return this.refused;
  }

  /**
   * Takes `bytes` for one call, or answers the error that refuses it. With nothing in flight a
   * call is always admitted, so a request larger than the bound is not refused forever; a call
   * that may not be refused (`refusable` false) is counted and admitted.
   */
  take(bytes: number, refusable = true): RmqError | undefined {
    if (refusable && this.inFlight > 0 && this.inFlight + bytes > this.options.bytesMax) {
      this.refused++;
      const reason =
        `this server is already processing ${(this.inFlight / MIB).toFixed(1)} MiB of requests and this one has ${(bytes / MIB).toFixed(1)} MiB; ` +
        `the budget of request bytes in flight is ${(this.options.bytesMax / MIB).toFixed(0)} MiB (${this.options.setting}): retry shortly`;
      return new RmqError('TOO_MANY_REQUESTS', { reason });
    }
    this.inFlight += bytes;
    return undefined;
  }

  give(bytes: number): void {
    this.inFlight -= bytes;
  }
}
