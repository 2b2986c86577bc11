// Every bound and default of the SDK, with its unit and why.
export const CLIENT_LIMITS = {
  /** Deadline of a unary request (the official clients' default request timeout). */
  requestTimeoutMs: 3_000,
  /** A topic's route is asked again after this (the official clients refresh every 30 s). */
  routeRefreshMs: 30_000,
  /** Messages one SendMessage carries at most: big enough to amortise a call's ~100 µs. */
  batchCountMaxDefault: 64,
  /** Body bytes one SendMessage carries at most: well under the 4 MiB gRPC message cap. */
  batchBytesMaxDefault: 1024 * 1024,
  /** SendMessage calls in flight per broker; more sends wait and join the next batch. */
  inFlightPerBrokerMaxDefault: 4,
  /** Tries of one message across brokers (the official producer's maxAttempts). */
  sendAttemptsMaxDefault: 3,
  /** SimpleConsumer: default invisible time of a received message. */
  invisibleMsDefault: 30_000,
  /** SimpleConsumer: default long-polling time of a receive. */
  awaitMsDefault: 20_000,
  /** PushConsumer: how long a received message stays invisible while the listener runs (the broker renews it while the client lives). */
  pushInvisibleMs: 60_000,
  /** A GZIP body decompresses to at most this much; a bigger one fails the receive rather than the process. */
  gunzippedBodyBytesMax: 64 * 1024 * 1024,
  /** A receive asks for at most this many messages (the broker's limit too). */
  receiveCountMax: 32,
} as const;
