import { ConfigError, createLogger, runService } from '@imaging-facade/service-kit';
import { loadConsentConfig, type ConsentConfig } from './config';
import { SERVICE, startConsentDesk } from './service';

/** Loads the configuration (failing fast, naming every bad variable) and runs the consent desk. */
function main(): void {
  let config: ConsentConfig;
  try {
    config = loadConsentConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${SERVICE}: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
  const logger = createLogger(SERVICE, config.logLevel);
  runService(logger, async (onStop) => {
    await startConsentDesk(config, logger, onStop);
  });
}

main();
