/**
 * libuv runs file system calls on a pool of 4 threads by default. Each stored instance makes a few
 * fdatasyncs of milliseconds; with concurrent associations they held every thread while the opens,
 * renames and closes of the others waited behind them (8 associations: about 40 % more instances a
 * second with 16 threads). libuv reads this when the pool first starts, so it is imported first.
 */
process.env.UV_THREADPOOL_SIZE ??= '16';

export {};
