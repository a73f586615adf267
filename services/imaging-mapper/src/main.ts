import { defineService } from '@imaging-facade/service-kit';
import { loadMapperConfig, SERVICE, startMapper } from './service';

defineService({ name: SERVICE, loadConfig: loadMapperConfig, logLevel: (config) => config.LOG_LEVEL, start: startMapper });
