// Delay and transactional messages run on the master only: their services append (re-puts,
// marks, ops) and a slave's log must stay a byte-for-byte copy of its master's. They are opened
// when the broker leads (rebuilding their state from the log it has) and closed when it follows.
import { RmqError } from '@rmq/base';
import type { MessageStager, TimerService, TransactionService } from '@rmq/messaging';

export interface ModelServicesRunning {
  timers: TimerService;
  transactions: TransactionService;
}

export class ModelServices {
  private running: ModelServicesRunning | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    private readonly open: () => Promise<ModelServicesRunning>,
    private readonly brokerName: string,
    private readonly epoch: () => number,
  ) {}

  /** Opens the services (idempotent); they rebuild from the log as it is now. */
  start(): Promise<void> {
    this.starting ??= this.open().then((running) => {
      this.running = running;
    }).finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const running = this.running;
    this.running = undefined;
    running?.transactions.close();
    await running?.timers.close();
  }

  get timers(): TimerService | undefined {
    return this.running?.timers;
  }

  get transactions(): TransactionService | undefined {
    return this.running?.transactions;
  }

  requireTimers(): TimerService {
    if (!this.running) throw this.notLeading();
    return this.running.timers;
  }

  requireTransactions(): TransactionService {
    if (!this.running) throw this.notLeading();
    return this.running.transactions;
  }

  /** Stagers for ProducerService that use whichever services run now. */
  stagers(): { DELAY: MessageStager; TRANSACTION: MessageStager } {
    return {
      DELAY: { stage: (message, topic) => this.requireTimers().stager().stage(message, topic), receipt: (message, result) => this.requireTimers().stager().receipt(message, result) },
      TRANSACTION: {
        stage: (message, topic) => this.requireTransactions().stager().stage(message, topic),
        receipt: (message, result) => this.requireTransactions().stager().receipt(message, result),
      },
    };
  }

  private notLeading(): RmqError {
    return new RmqError('NOT_MASTER', { brokerName: this.brokerName, epoch: this.epoch() });
  }
}
