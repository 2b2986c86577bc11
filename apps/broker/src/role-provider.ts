// Where the broker learns its role, its epoch and its group's master. Forwarding, registrations
// and routes read it through this interface, so the source can change (flags and the name
// servers today; the controller's role machine later) without touching them.
import type { BrokerRole } from '@rmq/routing';

export interface RoleView {
  role: BrokerRole;
  /** The epoch this broker is master of, or the epoch of the master it follows. */
  epoch: number;
  /** Client endpoint (host:port) of the group's master: this broker's own when it is master; undefined while none is known. */
  masterEndpoint: string | undefined;
}

export interface RoleProvider {
  current(): RoleView;
  /** Calls `listener` after every change of the view; returns the function that stops it. */
  onChange(listener: (view: RoleView) => void): () => void;
  /** A call to `endpoint`, the master as last known, failed: look for the master again now. */
  masterUnreachable(endpoint: string): void;
  /**
   * Sets the role by hand (a manual failover); present only where no controller decides roles.
   * A master needs an epoch above the current one; a slave takes its master's.
   */
  assign?(role: BrokerRole, epoch: number): Promise<RoleView>;
  close(): void;
}

export function sameView(a: RoleView, b: RoleView): boolean {
  return a.role === b.role && a.epoch === b.epoch && a.masterEndpoint === b.masterEndpoint;
}

/** Resolves after the view differs from `since`, after `timeoutMs`, or when `signal` aborts; whichever comes first. */
export function viewChange(roles: RoleProvider, since: RoleView, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (!sameView(roles.current(), since) || signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      stop();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, timeoutMs));
    const stop = roles.onChange((view) => {
      if (!sameView(view, since)) done();
    });
    signal?.addEventListener('abort', done, { once: true });
  });
}
