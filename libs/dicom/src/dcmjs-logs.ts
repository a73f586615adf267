import { log } from 'dcmjs';

/**
 * Silences dcmjs, which logs to the console through `loglevel`: its warnings may quote attribute
 * values, i.e. patient data, and every problem that matters reaches us as an exception. Its root
 * logger and its named ones (setting the root's level does not reach those).
 */
export function silenceDcmjs(): void {
  log.setLevel('silent');
  for (const named of Object.values(log.getLoggers())) {
    named.setLevel('silent');
  }
}
