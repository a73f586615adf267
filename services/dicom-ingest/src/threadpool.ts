/**
 * libuv runs file system calls on a pool of 4 threads by default. Each stored instance makes two
 * durable writes (its file, its index line) of milliseconds; with concurrent associations they held
 * every thread while the calls of the others waited behind them (8 associations: about 40 % more
 * instances a second with 16 threads, measured when opens, renames and closes also went through the
 * pool; the spool's creates and renames now have a thread of their own, FsBatchThread). libuv reads
 * this when the pool first starts, so it is imported first.
 */
process.env.UV_THREADPOOL_SIZE ??= '16';

export {};
