export * from './client';
export * from './errors';
export * from './ids';
export * from './readiness';
export * from './search';
export * from './upstream';
export * from './imaging-identifiers';
export * from './cumulative-dose';
