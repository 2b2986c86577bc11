// Live producers' Telemetry streams by the topics they publish, so that the broker can ask one
// of them to check an orphaned transaction (RecoverOrphanedTransactionCommand). The choice
// rotates over a topic's producers, so a dead-but-not-yet-closed stream does not take every check.
import { create, v2 } from '@rmq/contracts';

type Send = (command: v2.TelemetryCommand) => void;

export class ProducerStreams {
  private readonly byTopic = new Map<string, Map<string, Send>>();
  private readonly topicsOf = new Map<string, string[]>();
  private turn = 0;

  add(clientId: string, topics: readonly string[], send: Send): void {
    this.remove(clientId);
    this.topicsOf.set(clientId, [...topics]);
    for (const topic of topics) {
      let streams = this.byTopic.get(topic);
      if (!streams) this.byTopic.set(topic, (streams = new Map()));
      streams.set(clientId, send);
    }
  }

  remove(clientId: string): void {
    for (const topic of this.topicsOf.get(clientId) ?? []) {
      const streams = this.byTopic.get(topic);
      streams?.delete(clientId);
      if (streams?.size === 0) this.byTopic.delete(topic);
    }
    this.topicsOf.delete(clientId);
  }

  /** Asks one live producer of `topic` to check the transaction; false when none is connected. */
  recoverOrphaned(topic: string, message: v2.Message, transactionId: string): boolean {
    const streams = [...(this.byTopic.get(topic)?.values() ?? [])];
    if (streams.length === 0) return false;
    const send = streams[this.turn++ % streams.length];
    send(create(v2.TelemetryCommandSchema, { command: { case: 'recoverOrphanedTransactionCommand', value: { message, transactionId } } }));
    return true;
  }

  get size(): number {
    return this.topicsOf.size;
  }
}
