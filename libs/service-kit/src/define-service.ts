import { ConfigError } from './config';
import { runService, type OnStop } from './lifecycle';
import { createLogger, type Logger } from './logger';

/** What makes a service: its name, how its configuration is read, and how it starts. */
export interface ServiceDefinition<C> {
  name: string;
  /** Reads and validates the environment; throws a ConfigError naming every bad variable. */
  loadConfig: () => C;
  logLevel: (config: C) => string;
  /** Starts the parts in order, registering each one's stop as soon as it runs; resolves once ready. */
  start: (config: C, logger: Logger, onStop: OnStop) => Promise<unknown>;
}

/** Exit code of a start refused for its configuration (sysexits' EX_CONFIG), apart from a failed start (1). */
export const EXIT_CONFIG = 78;

/**
 * Every service's `main.ts`: the same start-up errors, exit codes and shutdown for all. A bad
 * configuration is reported on stderr, naming every bad variable, before any logger exists (its
 * level is part of the configuration), and exits 78; a failed start or an unclean stop exits 1;
 * SIGINT/SIGTERM stop gracefully and exit 0.
 */
export function defineService<C>(definition: ServiceDefinition<C>): void {
  let config: C;
  try {
    config = definition.loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${definition.name}: ${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
  const logger = createLogger(definition.name, definition.logLevel(config));
  runService(logger, (onStop) => definition.start(config, logger, onStop).then(() => undefined));
}
