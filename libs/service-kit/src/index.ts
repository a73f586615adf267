export * from './config';
export * as env from './env';
export * from './lifecycle';
export * from './logger';
export * from './metrics';
export * from './ops-server';
export * from './readiness';
export * from './keyed-lock';
export * from './failed-sign-ins';
