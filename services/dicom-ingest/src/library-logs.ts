import { silenceDcmjs } from '@imaging-facade/dicom';
import { log as dimseLog } from 'dcmjs-dimse';
import type { Logger } from '@imaging-facade/service-kit';

/**
 * dcmjs-dimse and dcmjs log through `loglevel` to the console. dcmjs-dimse's lines (PDUs, commands,
 * AE titles; datasets are never logged) go into our JSON log, its chatty info lines at debug level.
 * dcmjs (which dcmjs-dimse uses) is silenced, see `silenceDcmjs`.
 */
export function routeLibraryLogs(logger: Logger): void {
  const dimse = logger.child({ component: 'dcmjs-dimse' });
  dimseLog.methodFactory = (methodName) => {
    return (...args: unknown[]) => {
      const message = args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(' ');
      switch (methodName) {
        case 'error':
          dimse.error(message);
          break;
        case 'warn':
          dimse.warn(message);
          break;
        default:
          dimse.debug(message);
      }
    };
  };
  dimseLog.setLevel(logger.isLevelEnabled('debug') ? 'debug' : 'warn');
  silenceDcmjs();
}

