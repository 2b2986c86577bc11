// Bounds of every gRPC server of ours, so one runaway or vanished client cannot hold a port's
// resources: streams per connection, keepalive, idle and age limits, message size.
export const GRPC_SERVER_LIMITS = {
  /**
   * Concurrent calls on one connection. An official push consumer holds one long poll per
   * assigned queue plus its telemetry stream; a thousand leaves room for a busy client while a
   * flood of streams on one connection is refused by HTTP/2 itself.
   */
  concurrentStreamsPerConnectionMax: 1_000,
  /** The server pings an idle connection this often, and drops it when no answer comes within the timeout. */
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  /** A connection with no call for this long is closed (clients reconnect on their next call). */
  connectionIdleMsMax: 15 * 60_000,
  /** Connections are recycled after this long, so a client cannot pin resources forever... */
  connectionAgeMsMax: 60 * 60_000,
  /** ...with time for calls in flight to finish: above the longest long poll (60 s). */
  connectionAgeGraceMs: 90_000,
  /**
   * Memory one HTTP/2 connection may hold in buffered frames, in MiB: past it the connection
   * refuses new streams until it drains, so one client cannot fill the broker's memory with
   * large requests in flight.
   */
  sessionMemoryMibMax: 64,
  /** Default size of one request message; above the 4 MiB message body plus its envelope. */
  receiveMessageBytesMaxDefault: 8 * 1024 * 1024,
} as const;
