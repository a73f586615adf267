export * from './node-settings';
export { LOG_PSEUDONYM_KEY_FILE, resolveLogPseudonymKey } from './log-pseudonym-key';
export { timeZoneSchema } from './time-zone';
