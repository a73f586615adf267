export * from './client';
export * from './consumer';
export * from './consumer-restart';
export * from './publisher';
export * from './readiness';
export * from './retry';
export * from './topics-admin';
