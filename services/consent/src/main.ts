import { defineService } from '@imaging-facade/service-kit';
import { loadConsentConfig } from './config';
import { SERVICE, startConsentDesk } from './service';

defineService({ name: SERVICE, loadConfig: loadConsentConfig, logLevel: (config) => config.logLevel, start: startConsentDesk });
