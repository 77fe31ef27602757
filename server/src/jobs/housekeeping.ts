/**
 * pg-boss's own housekeeping on a thread of its own, off the loop that answers players.
 *
 * Every 30 s pg-boss checks its cron schedules: it parses each expression and walks back to its
 * last due time (`cron-parser` on luxon), cold code that held the serving loop for 50–75 ms at a
 * time, a stall every player on the node waited through. Its table maintenance (expiring, archiving
 * and deleting jobs) is likewise periodic. So the serving process's pg-boss sends and works jobs
 * only (`schedule: false`, `supervise: false`), and this thread runs a second, small pg-boss
 * (two connections) that does nothing but those two. Several processes may each run one: pg-boss
 * sends each due job once, whichever asks first.
 *
 * States: starting → running → stopping → stopped. A thread that dies while running is started
 * again after `housekeepingRestartMs`, and again until it runs: a schedule comes due late by up to
 * that delay plus pg-boss's 30 s check, and a run is lost only if housekeeping stays down for more
 * than a minute (pg-boss sends a cron job only within a minute of its due time). A thread that has
 * not started its pg-boss within `housekeepingStartTimeoutMs` is ended and counts as failed.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { limits } from '../limits.js';
import type { HousekeepingReport, HousekeepingSettings } from './housekeepingThread.js';

type State = 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The thread's entry: a worker does not inherit the TypeScript loader the process was started
 * with (`--import tsx` registers it for the main thread only), so it registers it first.
 */
const threadEntry = new URL(
  `data:text/javascript,${encodeURIComponent(
    `const { register } = await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}); register();
     await import(${JSON.stringify(new URL('./housekeepingThread.ts', import.meta.url).href)});`,
  )}`,
);

export class JobHousekeeping {
  readonly #settings: HousekeepingSettings;
  readonly #log: Logger;
  #worker: Worker | null = null;
  #state: State = 'starting';
  #restart: NodeJS.Timeout | null = null;
  #stopping: Promise<void> | null = null;

  private constructor(settings: HousekeepingSettings, log: Logger) {
    this.#settings = settings;
    this.#log = log;
  }

  /** Starts the thread and waits until its pg-boss runs (or rejects with why it could not). */
  static async start(settings: HousekeepingSettings, log: Logger): Promise<JobHousekeeping> {
    const housekeeping = new JobHousekeeping(settings, log);
    await housekeeping.#spawn();
    housekeeping.#state = 'running';
    return housekeeping;
  }

  get state(): State {
    return this.#state;
  }

  #spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(threadEntry, { workerData: this.#settings, name: 'titrate-job-housekeeping' });
      this.#worker = worker;
      let ready = false;
      let lastError = '';
      const startTimer = setTimeout(() => {
        lastError = `its pg-boss did not start within ${limits.housekeepingStartTimeoutMs} ms`;
        void worker.terminate();
      }, limits.housekeepingStartTimeoutMs);
      worker.on('message', (report: HousekeepingReport) => {
        if (report.kind === 'ready') {
          ready = true;
          clearTimeout(startTimer);
          resolve();
        } else if (report.kind === 'error') {
          lastError = report.message;
          this.#log.warn({ error: report.message }, 'job housekeeping error');
        }
      });
      worker.on('error', (error) => this.#log.error({ err: error }, 'job housekeeping thread failed'));
      worker.on('exit', (code) => {
        clearTimeout(startTimer);
        if (this.#worker === worker) this.#worker = null;
        if (!ready) return reject(new Error(`job housekeeping thread exited (${code}) before it started${lastError === '' ? '' : `: ${lastError}`}`));
        if (this.#state !== 'running') return;
        this.#log.error({ code, restartInMs: limits.housekeepingRestartMs }, 'job housekeeping thread exited; starting it again');
        this.#restartLater();
      });
    });
  }

  #restartLater(): void {
    this.#restart = setTimeout(() => {
      this.#restart = null;
      if (this.#state !== 'running') return;
      this.#spawn().catch((error: unknown) => {
        this.#log.error({ err: error }, 'job housekeeping did not start again; trying later');
        if (this.#state === 'running') this.#restartLater();
      });
    }, limits.housekeepingRestartMs);
    this.#restart.unref();
  }

  /** Stops the thread's pg-boss (gracefully, then the thread itself after a grace); every caller waits for the same stop. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping';
    if (this.#restart !== null) clearTimeout(this.#restart);
    const worker = this.#worker;
    if (worker !== null) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('stop');
      const grace = setTimeout(() => void worker.terminate(), limits.housekeepingStopGraceMs);
      await exited;
      clearTimeout(grace);
    }
    this.#state = 'stopped';
  }
}
