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
  /**
   * Request bytes a server holds at once over all its calls (read, decoded, not yet answered),
   * when it sets a request budget (request-budget.ts). 32 MiB: 4 requests of the largest default
   * size (8 MiB) or 8 of the largest body (4 MiB), twice the store's 16 MiB of appends waiting
   * for the disk, so ordinary traffic does not meet it. Each byte admitted costs three to four
   * in memory (HTTP/2 chunks, the joined request, what is decoded from it, its encoded record):
   * measured, a flood of 8 MiB sends raises a broker's RSS by about 160 MiB with 32 MiB, 250 MiB
   * with 64 MiB, and 520 MiB without a budget.
   */
  requestBytesInFlightMaxDefault: 32 * 1024 * 1024,
  /**
   * Requests up to this size are counted in that budget but never refused by it, except sends:
   * route queries, heartbeats, receives and acks keep working while sends wait (the official
   * client retries a throttled send, not a refused route query or ack), and a flood of such
   * small calls is bounded by streams per connection.
   */
  requestBytesAlwaysAdmittedMax: 64 * 1024,
  /**
   * A request in that budget must arrive whole within this long of its first bytes, or it is
   * ended and its share given back: 8 MiB at 1 MB/s takes 8 s (the official client gives a send
   * 3 s), while a sender that stalls (hostile, or frozen behind a partition that keepalive
   * notices only after 80 s) holds the budget at most this long per request.
   */
  requestReadMsMax: 15_000,
  /**
   * HTTP/2 flow-control window a client may send into, per stream and per connection
   * (widenReceiveWindows). Node's default, 64 KiB, makes a 280 KB send (256 messages of 1 KiB)
   * wait for several window updates, each a write here and a wake-up there: 4 MiB holds a few
   * such sends in flight. It is also what a connection may hold unread (grpc-js pauses a streaming
   * call between reads): 4 MiB per connection instead of 64 KiB, under node's per-session memory
   * limit (10 MB); unary requests are read at once and bounded by the request budget.
   */
  receiveWindowBytes: 4 * 1024 * 1024,
  /** Default size of one request message; above the 4 MiB message body plus its envelope. */
  receiveMessageBytesMaxDefault: 8 * 1024 * 1024,
} as const;
