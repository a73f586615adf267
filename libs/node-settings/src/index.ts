export * from './node-settings';
export { timeZoneSchema } from './time-zone';
