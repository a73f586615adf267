import type { Logger } from './logger';

/** Something started that must be stopped, awaited, on shutdown. */
export interface Stoppable {
  name: string;
  stop: () => Promise<void>;
}

/** Registers, right after starting a part, how to stop it. */
export type OnStop = (name: string, stop: () => Promise<void>) => void;

/**
 * Stops what was started in reverse order, each one awaited (the SCP before the producer it
 * feeds), and reports whether every stop succeeded.
 */
export async function stopAll(parts: readonly Stoppable[], logger: Logger): Promise<boolean> {
  let clean = true;
  for (const part of [...parts].reverse()) {
    try {
      await part.stop();
      logger.info({ part: part.name }, 'stopped');
    } catch (error) {
      clean = false;
      logger.error({ part: part.name, err: error }, 'failed to stop cleanly');
    }
  }
  return clean;
}

/**
 * Runs a service. `start` starts its parts in order and registers each one's stop as soon as it
 * runs, so that a start that fails halfway still stops what it had started. SIGINT/SIGTERM stop
 * the service gracefully; a failed start or an unclean stop exits non-zero.
 */
export function runService(logger: Logger, start: (onStop: OnStop) => Promise<void>): void {
  const parts: Stoppable[] = [];
  let stopping = false;

  const shutdown = async (reason: string, exitCode: number): Promise<void> => {
    if (stopping) {
      return;
    }
    stopping = true;
    logger.info({ reason }, 'shutting down');
    const clean = await stopAll(parts, logger);
    process.exit(clean ? exitCode : 1);
  };

  process.once('SIGINT', () => void shutdown('SIGINT', 0));
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.on('unhandledRejection', (error) => {
    logger.fatal({ err: error }, 'unhandled promise rejection');
    void shutdown('unhandledRejection', 1);
  });

  start((name, stop) => parts.push({ name, stop }))
    .then(() => logger.info('started'))
    .catch((error: unknown) => {
      logger.fatal({ err: error }, 'failed to start');
      void shutdown('start failed', 1);
    });
}
