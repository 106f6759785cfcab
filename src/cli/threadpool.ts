// Imported first by main.ts: libuv reads UV_THREADPOOL_SIZE once, when its pool starts.
// Layer unpacking runs zlib and file writes of several layers at once on that pool, and
// the default of 4 threads makes them queue behind each other.
if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = '16';
export {};
