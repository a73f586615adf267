export * from './consent-decision.v1';
export * from './dead-letter.v1';
export * from './dicom-json';
export * from './dicom-levels';
export * from './envelope';
export * from './instance-stored.v1';
export * from './study-completed.v1';
export * from './topics';
