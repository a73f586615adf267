import { log as dcmjsLog } from 'dcmjs';
import { log as dimseLog } from 'dcmjs-dimse';
import type { Logger } from '@imaging-facade/service-kit';

/**
 * dcmjs-dimse and dcmjs log through `loglevel` to the console. dcmjs-dimse's lines (PDUs, commands,
 * AE titles; datasets are never logged) go into our JSON log, its chatty info lines at debug level.
 * dcmjs is silenced: its warnings may quote attribute values, i.e. patient data, and every parse
 * problem that matters reaches us as an exception.
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

/** dcmjs's root logger and its named ones (setting the root's level does not reach those). */
export function silenceDcmjs(): void {
  dcmjsLog.setLevel('silent');
  for (const named of Object.values(dcmjsLog.getLoggers())) {
    named.setLevel('silent');
  }
}
