export * from './express-handlers';
export * from './outcomes';
