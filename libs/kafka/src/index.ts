export * from './client';
export * from './consumer';
export * from './publisher';
export * from './readiness';
export * from './retry';
export * from './topics-admin';
