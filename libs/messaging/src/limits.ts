// Every bound of the messaging layer, with its unit and why.
export const MESSAGING_LIMITS = {
  /** RocketMQ's 4 MiB, less room for the reply envelope: a client's gRPC receive cap is 4 MiB per frame. */
  bodySizeBytesMax: 4 * 1024 * 1024 - 64 * 1024,
  /** The proxy's cap on user properties. */
  propertiesSizeBytesMax: 16 * 1024,
  /** A message group's UTF-8 bytes (RocketMQ's proxy refuses 64 and more: maxMessageGroupSize). */
  messageGroupBytesMax: 63,
  /** Broker default for new topics (RocketMQ defaultTopicQueueNums). */
  queueCountDefault: 8,
  queueCountMax: 1024,
  /** Receive batch bounds; the official SimpleConsumer asks for up to 32. */
  receiveBatchCountMax: 1024,
  /**
   * Bytes one receive gathers (records as stored), new and redelivered together: a receive of
   * 1,024 messages of 4 MiB would otherwise hold 4 GiB. At least one message always fits.
   */
  receiveBytesMax: 8 * 1024 * 1024,
  /**
   * (consumer group, topic) pairs whose receipt-handle MAC prefix is kept (receipt-handle.ts); past
   * it the cache starts over (each entry is a few dozen bytes; recomputing one costs a microsecond).
   */
  receiptPrefixesMax: 4_096,
  /** Entries of one AckMessage and messages of one SendMessage. */
  ackEntriesMax: 1024,
  sendMessagesMax: 1024,
  /** Invisible duration bounds; SimpleConsumers get the broker's --invisible-ms-min (RocketMQ: 10 s) on top. */
  invisibleMsMin: 0,
  simpleInvisibleMsMinDefault: 10_000,
  invisibleMsMax: 12 * 60 * 60 * 1000,
  /** Used when a receive does not say (the push consumer never does); the Java proxy also uses 60 s. */
  invisibleMsDefault: 60_000,
  /** Push consumers' deliveries are renewed server-side for at most this long (RocketMQ's proxy: 3 h). */
  autoRenewTotalMsMax: 3 * 60 * 60 * 1000,
  /** A client not heard from for this long is gone: its deliveries are no longer renewed (the Node client heartbeats every 10 s). */
  clientAliveMsMax: 30_000,
  /** Deliveries renewed at once per broker; beyond it they simply expire. */
  autoRenewalsMax: 100_000,
  /** Live clients (by client id) a broker remembers for renewals; ids cost nothing to make up. */
  liveClientsMax: 100_000,
  /** Long-polling bounds for ReceiveMessage. */
  longPollingMsMin: 0,
  longPollingMsMax: 60_000,
  longPollingMsDefault: 20_000,
  /** Consumer groups one broker keeps (auto-created ones too): each is journaled and held in memory. */
  groupCountMax: 65_536,
  /** Receives one client may have running at once on a broker (a push consumer runs about one per topic). */
  receivesPerClientMaxDefault: 256,
  /** Receives one consumer group may have running at once on a broker: each is woken by every new message of its topic. */
  receivesPerGroupMaxDefault: 1_024,
  /** RocketMQ's default: 16 retries after the first delivery. */
  deliveryAttemptsMax: 17,
  /** In-flight (received, not yet acked) messages per group and queue before receives return nothing new. */
  inflightPerQueueMax: 20_000,
  /** A group's deliveries before the dead-letter topic: RocketMQ caps retries at a few hundred too. */
  maxAttemptsMax: 1_000,
  /** A broadcast member not heard from for this long is forgotten (RocketMQ 5 expires broadcast offsets after 2 to 5 min). */
  broadcastMemberIdleMsMax: 5 * 60_000,
  /** Broadcast members followed at once per broker: each holds progress for every queue it reads. */
  broadcastMembersMax: 10_000,
  /** SQL92 filter text, in characters: far above any real subscription, small enough to parse on every receive. */
  filterExpressionLengthMax: 4096,
  /** Nesting of parentheses and NOT in a SQL92 filter: the parser and evaluator recurse once per level. */
  filterNestingDepthMax: 64,
  /** Users an access store keeps: each is checked on every call, held in memory. */
  accessUsersMax: 10_000,
  /** Grants of one user: a call's check walks them all. */
  accessGrantsPerUserMax: 1_000,

  // Delay messages (timer-service.ts).
  /** Longest delay accepted by default (RocketMQ's timerMaxDelaySec: 3 days); keep it within the log's retention. */
  timerDelayMsMaxDefault: 3 * 24 * 60 * 60 * 1000,
  /** Seconds of due time per bucket file: 3 days make at most 25,920 files; 10 s at 10k due/s is 100k entries (2.4 MB) per load. */
  timerBucketSeconds: 10,
  /** Schedules due within this much of now are read into memory ahead of time. */
  timerLookaheadMs: 1_500,
  /** How often the window moves and the dispatcher looks, at the latest (precision is set by exact timers, not this). */
  timerTickMs: 50,
  /** Record bytes held in memory for the seconds ahead; beyond it only seconds already due are read in. */
  timerHeldBytesMax: 256 * 1024 * 1024,
  /** Re-puts appended together (with one mark). */
  timerDispatchBatchMax: 1_000,
  /**
   * Dispatches appending at once. Those waiting behind an fdatasync go into the store's next group
   * commit together, so with fdatasync at 500 ms (a busy shared disk) 8 x 1000 still keep up with
   * 10k due/s; with 2 they fell behind at 300 ms.
   */
  timerDispatchesInFlightMax: 8,
  /** Schedules of a coming second read per store read (decoding them is one slice of the event loop); neighbours this close share a read. */
  timerReadSpanMax: 512,
  timerReadGapMax: 64,
  /** Recalls remembered for answering a repeated recall with OK (older repeats get "already delivered"). */
  timerRecentRecallsMax: 10_000,
  // Pull consumers (pull-service.ts).
  /** Committed pull offsets kept per broker (group x topic x queue). */
  pullOffsetsMax: 1_000_000,
  /** Probes of a QueryOffset by time (a binary search over at most 2^62 entries). */
  queryOffsetStepsMax: 64,

  // Transactional messages (transaction-service.ts).
  /** Open transactions per broker: each is held in memory (about 300 bytes). */
  transactionOpenMax: 100_000,
  /** How often open transactions are looked at for checks and expiry. */
  transactionSweepMs: 1_000,
  /** RocketMQ's transactionTimeOut: the first check when the producer names no recovery duration. */
  transactionFirstCheckMsDefault: 6_000,
  /** Checks back with the producer before the transaction is rolled back (RocketMQ's transactionCheckMax). */
  transactionChecksMaxDefault: 15,
  /** Longest wait between two checks (RocketMQ checks every 60 s). */
  transactionCheckIntervalMaxMsDefault: 60_000,
  /** Open transactions one list answer holds. */
  transactionListMax: 1_000,
  /** Index entries taken per step when rebuilding or indexing. */
  timerRecoveryChunk: 100_000,
} as const;
