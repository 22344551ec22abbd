// Imported first by every entry point (CLI, benchmarks): libuv's thread pool, which runs
// file system calls (blob writes and their fsyncs), crypto (argon2, pbkdf2) and DNS lookups,
// has 4 threads by default. Durable blob writes wait on fsync, so more threads let the
// fsyncs of one group commit overlap (the file system merges them into few journal
// commits). The size is read when the pool starts, at the first such call, so this must run
// before any I/O; an operator's own UV_THREADPOOL_SIZE wins.
process.env["UV_THREADPOOL_SIZE"] ??= "16";
export {};
