// First: sizes libuv's thread pool before anything uses it.
import './threadpool';
// Then: V8's heap growth, before the heap grows.
import './heap-growth';
import { defineService } from '@imaging-facade/service-kit';
import { loadIngestConfig } from './config';
import { startIngestService } from './service';

defineService({
  name: 'dicom-ingest',
  loadConfig: loadIngestConfig,
  logLevel: (config) => config.logLevel,
  start: async (config, logger, onStop) => {
    const running = await startIngestService(config, logger, onStop);
    logger.info({ dicomPort: running.dicomPort, dicomTlsPort: running.dicomTlsPort, httpPort: running.httpPort, storageDir: config.storageDir }, 'dicom-ingest ready');
  },
});
