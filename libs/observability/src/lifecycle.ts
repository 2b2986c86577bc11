// Graceful shutdown for an app: SIGINT/SIGTERM run the stop steps once, in order, each bounded,
// then the process exits. A second signal exits at once.
import type { Logger } from './logger';

export function onShutdown(log: Logger, stop: () => Promise<void>, stopTimeoutMs = 10_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn('second signal, exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('shutting down', { signal });
    const timer = setTimeout(() => {
      log.error('shutdown took too long, exiting', { stopTimeoutMs });
      process.exit(1);
    }, stopTimeoutMs);
    timer.unref();
    stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled promise rejection', { error: reason });
    process.exit(1);
  });
}

/** The line tests and the local stack wait for: the app is serving at these addresses. */
export function announceReady(log: Logger, endpoints: Record<string, string>): void {
  log.info('ready', { endpoints });
}
