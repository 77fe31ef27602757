/**
 * The processes a run measures: Titrate servers and workers (`npm start`'s own entry point), the
 * bare echo, and a redis-server for the multi-node scenario. Each is a child process whose
 * readiness is the line it prints, whose CPU and memory are read from its own accounting, and
 * which is stopped (SIGTERM, then SIGKILL) when the run ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type Managed = { name: string; url: string; pid: number; child: ChildProcess; stop: () => Promise<void> };

/** A process's own accounting: CPU time, resident memory, and the JavaScript heap in use and reserved. */
export type Usage = {
  cpuSeconds: number;
  residentBytes: number;
  heapUsedBytes: number;
  /** What V8 holds for its heap, used or not (resident memory less this is the process's native memory). */
  heapTotalBytes: number;
  /**
   * The resident part of the C allocator's main heap (see `cHeapBytesOf`), read by the load test
   * beside the process; null or absent where it cannot be read.
   */
  cHeapBytes?: number | null;
  /**
   * The server's own time from reading a library `next` to answering it: its histogram's
   * cumulative counts by upper bound in seconds (`titrate_decision_latency_seconds`); none for the echo.
   */
  libraryDecisionBuckets?: Array<[le: number, count: number]>;
  /** The server's waits for a client of its main PostgreSQL pool, the same way (`titrate_db_pool_wait_seconds`). */
  poolWaitBuckets?: Array<[le: number, count: number]>;
  /** The server's time to start a session, by stage, the same way (`titrate_session_start_seconds`). */
  upgradeBuckets?: Array<[le: number, count: number]>;
  helloBuckets?: Array<[le: number, count: number]>;
};

/** Every child still running, including those not ready yet, so an interrupted run can end them. */
const running = new Set<ChildProcess>();

/** Stops every child process still running (SIGTERM, then SIGKILL after the grace). */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...running].map((child) => stopProcess(child)));
}

/** Starts `command` and waits for a line matching `ready` (its first group is the URL). */
export function startProcess(name: string, command: string, args: string[], env: Record<string, string>, ready: RegExp, timeoutMs = 180_000): Promise<Managed> {
  const child = spawn(command, args, { cwd: repositoryRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${timeoutMs / 1000} s`)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n--- ${name} output ---\n${output.slice(-4000)}`));
    };
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-64_000);
      const match = ready.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      // Keep draining its output so a chatty process never blocks on a full pipe; LOADTEST_VERBOSE=1 shows it.
      const verbose = process.env['LOADTEST_VERBOSE'] === '1';
      child.stdout!.on('data', (more: Buffer) => verbose && process.stderr.write(`[${name}] ${more}`));
      child.stderr!.on('data', (more: Buffer) => verbose && process.stderr.write(`[${name}] ${more}`));
      resolve({ name, url: match[1] ?? '', pid: child.pid!, child, stop: () => stopProcess(child) });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code, signal) => fail(new Error(`${name} exited (${signal ?? code}) before it was ready`)));
  });
}

export function stopProcess(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A Titrate server's CPU seconds and resident memory, from its own `/metrics`; with `collect`, after
 * a full garbage collection (`POST /v1/admin/gc`), so memory is what is retained, not garbage.
 */
export async function serverUsage(url: string, collect?: { adminToken: string }): Promise<Usage> {
  if (collect !== undefined) {
    const response = await fetch(`${url}/v1/admin/gc`, { method: 'POST', headers: { authorization: `Bearer ${collect.adminToken}` } });
    if (!response.ok) throw new Error(`${url}/v1/admin/gc answered ${response.status}: start the server with node --expose-gc`);
  }
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => {
    const match = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
    if (match === null) throw new Error(`${url}/metrics has no ${name}`);
    return Number(match[1]);
  };
  const buckets = (pattern: RegExp) =>
    [...text.matchAll(pattern)].map((match): [number, number] => [match[1] === '+Inf' ? Infinity : Number(match[1]), Number(match[2])]);
  return {
    cpuSeconds: read('titrate_process_process_cpu_seconds_total'), residentBytes: read('titrate_process_process_resident_memory_bytes'),
    heapUsedBytes: read('titrate_process_nodejs_heap_size_used_bytes'), heapTotalBytes: read('titrate_process_nodejs_heap_size_total_bytes'),
    libraryDecisionBuckets: buckets(/^titrate_decision_latency_seconds_bucket\{le="([^"]+)",source="library"\} ([0-9.e+]+)$/gm),
    poolWaitBuckets: buckets(/^titrate_db_pool_wait_seconds_bucket\{le="([^"]+)",pool="main"\} ([0-9.e+]+)$/gm),
    upgradeBuckets: buckets(/^titrate_session_start_seconds_bucket\{le="([^"]+)",stage="upgrade"\} ([0-9.e+]+)$/gm),
    helloBuckets: buckets(/^titrate_session_start_seconds_bucket\{le="([^"]+)",stage="hello"\} ([0-9.e+]+)$/gm),
  };
}

/** The echo's CPU seconds and resident memory, from its own `/stats` (with `collect`, after a full garbage collection). */
export async function echoUsage(url: string, collect = false): Promise<Usage> {
  const stats = (await (await fetch(`${url}/stats${collect ? '?gc=1' : ''}`)).json()) as Usage;
  return { cpuSeconds: stats.cpuSeconds, residentBytes: stats.residentBytes, heapUsedBytes: stats.heapUsedBytes, heapTotalBytes: stats.heapTotalBytes };
}

/**
 * The resident bytes of process `pid`'s C heap: the `[heap]` mapping in `/proc/PID/smaps`, where
 * glibc's main arena keeps what the main thread allocates with `malloc` (a uWebSockets.js socket,
 * its libuv poll handle, V8's handles for its JavaScript object). Unlike resident memory as a
 * whole, it does not move with the megabytes V8 reserves and returns for its own heap, which sit in
 * mappings of their own. Null when the process or `/proc` is not there (another OS, a process on
 * another machine).
 */
export function cHeapBytesOf(pid: number): number | null {
  let smaps: string;
  try {
    smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return null;
  }
  return cHeapBytesIn(smaps);
}

/**
 * The `[heap]` mapping's resident bytes in the text of an smaps file; null when it has none (an
 * allocator that keeps no heap there: musl's, or one loaded with `LD_PRELOAD`).
 */
export function cHeapBytesIn(smaps: string): number | null {
  let inHeap = false;
  let found = false;
  let bytes = 0;
  for (const line of smaps.split('\n')) {
    // A mapping's header: "start-end perms offset dev inode [path]"; its fields follow as "Name:  value kB".
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      inHeap = line.endsWith(' [heap]');
      found ||= inHeap;
    }
    else if (inHeap && line.startsWith('Rss:')) bytes += Number(/(\d+) kB/.exec(line)?.[1] ?? 0) * 1024;
  }
  return found ? bytes : null;
}
