export * from './compacted-topic-reader';
export * from './consent-view';
export { KeyedLock } from '@imaging-facade/service-kit';
export * from './patient-key';
export * from './policy';
export * from './pseudonym';
export * from './read-position';
export * from './study-catalog';
export * from './study-summary';
