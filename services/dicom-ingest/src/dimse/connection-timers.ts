export interface TimeoutSettings {
  /** ARTIM (PS3.8 9.1.5): from the connection until the association is accepted. */
  artimMs: number;
  /** While associated: the longest silence of the peer while it owes us the next message. */
  idleMs: number;
}

export type Expiry = 'artim' | 'idle';

/**
 * The two timers of one connection. ARTIM runs from the moment the transport connection is open
 * until we accept the association (a rejected peer stays under it until it closes). Once associated,
 * the idle timer restarts on every byte the peer sends; `expired` decides what happens.
 */
export class ConnectionTimers {
  private timer: NodeJS.Timeout | undefined;
  private running: Expiry | undefined;

  constructor(
    private readonly settings: TimeoutSettings,
    private readonly expired: (which: Expiry) => void,
  ) {
    this.arm('artim', settings.artimMs);
  }

  /** The association is accepted: ARTIM stops, the idle timer starts. */
  associated(): void {
    this.arm('idle', this.settings.idleMs);
  }

  /** We rejected, released or aborted: the peer has ARTIM to close the connection (PS3.8 Sta13). */
  closing(): void {
    this.arm('artim', this.settings.artimMs);
  }

  /** The peer sent something. */
  activity(): void {
    if (this.running === 'idle') {
      this.timer?.refresh();
    }
  }

  /** Starts the current timer over, e.g. when we were the ones keeping the peer waiting. */
  restart(): void {
    this.timer?.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = undefined;
  }

  private arm(which: Expiry, ms: number): void {
    this.stop();
    this.running = which;
    this.timer = setTimeout(() => {
      this.running = undefined;
      this.timer = undefined;
      this.expired(which);
    }, ms);
    // A timer alone must not keep the process up during a shutdown.
    this.timer.unref();
  }
}
