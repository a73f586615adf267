import { ConfigError, createLogger, runService } from '@imaging-facade/service-kit';
import { loadIngestConfig, type IngestConfig } from './config';
import { startIngestService } from './service';

function configOrExit(): IngestConfig {
  try {
    return loadIngestConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      // No logger yet: its level is part of the configuration.
      process.stderr.write(`dicom-ingest: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

const config = configOrExit();
const logger = createLogger('dicom-ingest', config.logLevel);

runService(logger, async (onStop) => {
  const running = await startIngestService(config, logger, onStop);
  logger.info(
    { dicomPort: running.dicomPort, httpPort: running.httpPort, storageDir: config.storageDir },
    'dicom-ingest ready',
  );
});
