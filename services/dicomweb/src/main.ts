import { defineService } from '@imaging-facade/service-kit';
import { loadDicomwebConfig } from './config';
import { SERVICE, startDicomweb } from './service';

defineService({ name: SERVICE, loadConfig: loadDicomwebConfig, logLevel: (config) => config.logLevel, start: startDicomweb });
