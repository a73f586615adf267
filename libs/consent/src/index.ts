export * from './compacted-topic-reader';
export * from './consent-view';
export * from './keyed-lock';
export * from './patient-key';
export * from './policy';
export * from './pseudonym';
export * from './study-catalog';
export * from './study-summary';
