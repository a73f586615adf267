import { defineService } from '@imaging-facade/service-kit';
import { loadGatewayConfig } from './config';
import { SERVICE, startGateway } from './service';

defineService({ name: SERVICE, loadConfig: loadGatewayConfig, logLevel: (config) => config.logLevel, start: startGateway });
