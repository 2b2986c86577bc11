// Server-side renewal of push consumers' deliveries (ReceiveMessage with auto_renew): while the
// client that received a message is alive and has not settled it, its invisible time is pushed
// back before it runs out, so a listener slower than the invisible duration does not see its
// message handed to another member; when the client goes away (no request within
// `clientAliveMsMax`, or NotifyClientTermination) renewal stops and the message comes back after
// its invisible time. A delivery is renewed for at most `renewTotalMsMax` (RocketMQ's proxy: 3 h).
// Pure bookkeeping: time comes in as nowMs; the caller reads and moves the deadlines.

export interface Renewal {
  group: string;
  /** Broadcast member, when the group is consumed in broadcast mode. */
  member?: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  deliveryId: string;
  clientId: string;
  invisibleMs: number;
  renewUntilMs: number;
}

export class AutoRenewals {
  private readonly renewals = new Map<string, Renewal>();
  private readonly clientSeenAtMs = new Map<string, number>();

  constructor(
    private readonly clientAliveMsMax: number,
    private readonly renewalsMax: number,
    /** Live clients remembered; client ids cost nothing to make up, so a flood of them is bounded too. */
    private readonly clientsMax: number,
  ) {}

  /** Starts renewing a delivery (replacing an earlier delivery of the same message). */
  track(renewal: Renewal): void {
    if (this.renewals.size >= this.renewalsMax) return; // Bounded: beyond it, messages just expire.
    this.renewals.set(`${renewal.group}\u0000${renewal.member ?? ''}\u0000${renewal.topic}\u0000${renewal.queueId}\u0000${renewal.queueOffset}`, renewal);
  }

  clientSeen(clientId: string, nowMs: number): void {
    if (!this.clientSeenAtMs.has(clientId) && this.clientSeenAtMs.size >= this.clientsMax) {
      this.forgetSilentClients(nowMs);
      if (this.clientSeenAtMs.size >= this.clientsMax) return; // not renewed: its deliveries come back after their invisible time
    }
    this.clientSeenAtMs.set(clientId, nowMs);
  }

  clientGone(clientId: string): void {
    this.clientSeenAtMs.delete(clientId);
  }

  get count(): number {
    return this.renewals.size;
  }

  /**
   * The deliveries whose deadline must move now, with their new deadline. `deadlineOf` gives a
   * delivery's current deadline, or undefined when it is no longer current (settled or handed
   * out again); such deliveries, those of clients that went away and those renewed for long
   * enough are dropped.
   */
  due(nowMs: number, deadlineOf: (renewal: Renewal) => number | undefined): { renewal: Renewal; visibleAtMs: number }[] {
    this.forgetSilentClients(nowMs);
    const due: { renewal: Renewal; visibleAtMs: number }[] = [];
    for (const [key, renewal] of this.renewals) {
      const deadlineMs = deadlineOf(renewal);
      if (deadlineMs === undefined || !this.clientSeenAtMs.has(renewal.clientId) || nowMs >= renewal.renewUntilMs) {
        this.renewals.delete(key);
        continue;
      }
      // Renew once half of the invisible time is left: the sweep looks every second.
      if (deadlineMs - nowMs < renewal.invisibleMs / 2) due.push({ renewal, visibleAtMs: Math.min(nowMs + renewal.invisibleMs, renewal.renewUntilMs) });
    }
    return due;
  }

  get clientCount(): number {
    return this.clientSeenAtMs.size;
  }

  private forgetSilentClients(nowMs: number): void {
    for (const [clientId, seenAtMs] of this.clientSeenAtMs) if (nowMs - seenAtMs > this.clientAliveMsMax) this.clientSeenAtMs.delete(clientId);
  }
}
