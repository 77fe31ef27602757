/**
 * One load generator over one or several processes. With `processes: 0` the sessions run in this
 * process; otherwise they are dealt round-robin to that many child processes (each a `Driver`),
 * whose counts and HDR histograms are merged losslessly when read.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Driver, type DriverCounts, type DriverOptions, type DriverSnapshot, type SessionSpec } from './driver.js';
import { decodeHistogram, encodeHistogram, newHistogram } from './histogram.js';

export type Command =
  | { op: 'add'; specs: SessionSpec[] }
  | { op: 'resetStats' | 'stopSending' | 'resumeSending' | 'dropAll' | 'closeAll' | 'snapshot' | 'progress' };
export type EncodedSnapshot = Omit<DriverSnapshot, 'library' | 'fresh' | 'pending' | 'echo' | 'connect'> & Record<'library' | 'fresh' | 'pending' | 'echo' | 'connect', string>;
const histogramNames = ['library', 'fresh', 'pending', 'echo', 'connect'] as const;

export function encodeSnapshot(snapshot: DriverSnapshot): EncodedSnapshot {
  const encoded = { ...snapshot } as unknown as EncodedSnapshot;
  for (const name of histogramNames) encoded[name] = encodeHistogram(snapshot[name]);
  return encoded;
}

/** Adds counts field by field (numbers and records of numbers, nested). */
function addCounts(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(from)) {
    if (typeof value === 'number') into[key] = ((into[key] as number | undefined) ?? 0) + value;
    else if (value !== null && typeof value === 'object') {
      into[key] ??= {};
      addCounts(into[key] as Record<string, unknown>, value as Record<string, unknown>);
    }
  }
}

export function mergeSnapshots(snapshots: DriverSnapshot[]): DriverSnapshot {
  const merged: DriverSnapshot = {
    counts: {} as DriverCounts, library: newHistogram(), fresh: newHistogram(), pending: newHistogram(), echo: newHistogram(), connect: newHistogram(),
    outstanding: 0, live: 0, sessions: 0,
  };
  for (const snapshot of snapshots) {
    addCounts(merged.counts as unknown as Record<string, unknown>, snapshot.counts as unknown as Record<string, unknown>);
    for (const name of histogramNames) merged[name].add(snapshot[name]);
    merged.outstanding += snapshot.outstanding;
    merged.live += snapshot.live;
    merged.sessions += snapshot.sessions;
  }
  return merged;
}

type Child = { process: ChildProcess; pending: Map<number, (value: unknown) => void>; nextId: number };

export class LoadGenerator {
  readonly #local: Driver | null;
  readonly #children: Child[];
  #dealt = 0;

  private constructor(local: Driver | null, children: Child[]) {
    this.#local = local;
    this.#children = children;
  }

  static async start(options: DriverOptions, processes: number): Promise<LoadGenerator> {
    if (processes <= 0) return new LoadGenerator(new Driver(options), []);
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'driverProcess.ts');
    const children = await Promise.all(
      Array.from({ length: processes }, async (_, index) => {
        const child: Child = { process: fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), pending: new Map(), nextId: 1 };
        child.process.on('message', (reply: { id: number; value: unknown }) => {
          child.pending.get(reply.id)?.(reply.value);
          child.pending.delete(reply.id);
        });
        await call(child, { op: 'init', options: { ...options, prefix: `${options.prefix}${index}`, seed: options.seed + index * 7919 } });
        return child;
      }),
    );
    return new LoadGenerator(null, children);
  }

  async #all(command: Command): Promise<unknown[]> {
    if (this.#local !== null) return [runLocally(this.#local, command)];
    return Promise.all(this.#children.map((child) => call(child, command)));
  }

  async add(specs: SessionSpec[]): Promise<void> {
    if (this.#local !== null) return this.#local.add(specs);
    const shares: SessionSpec[][] = this.#children.map(() => []);
    for (const spec of specs) shares[this.#dealt++ % shares.length]!.push(spec);
    await Promise.all(this.#children.map((child, index) => (shares[index]!.length === 0 ? undefined : call(child, { op: 'add', specs: shares[index]! }))));
  }

  async resetStats(): Promise<void> {
    await this.#all({ op: 'resetStats' });
  }
  async stopSending(): Promise<void> {
    await this.#all({ op: 'stopSending' });
  }
  async resumeSending(): Promise<void> {
    await this.#all({ op: 'resumeSending' });
  }
  async dropAll(): Promise<void> {
    await this.#all({ op: 'dropAll' });
  }

  async progress(): Promise<{ live: number; outstanding: number }> {
    const parts = (await this.#all({ op: 'progress' })) as Array<{ live: number; outstanding: number }>;
    return { live: parts.reduce((sum, part) => sum + part.live, 0), outstanding: parts.reduce((sum, part) => sum + part.outstanding, 0) };
  }

  async snapshot(): Promise<DriverSnapshot> {
    if (this.#local !== null) return mergeSnapshots([this.#local.snapshot()]);
    const parts = (await this.#all({ op: 'snapshot' })) as EncodedSnapshot[];
    return mergeSnapshots(
      parts.map((part) => {
        const snapshot = { ...part } as unknown as DriverSnapshot;
        for (const name of histogramNames) snapshot[name] = decodeHistogram(part[name]);
        return snapshot;
      }),
    );
  }

  /** Closes every socket and ends the child processes. */
  async close(): Promise<void> {
    await this.#all({ op: 'closeAll' });
    for (const child of this.#children) child.process.kill();
  }
}

export function runLocally(driver: Driver, command: Command): unknown {
  switch (command.op) {
    case 'add':
      return driver.add(command.specs);
    case 'resetStats':
      return driver.resetStats();
    case 'stopSending':
      return driver.stopSending();
    case 'resumeSending':
      return driver.resumeSending();
    case 'dropAll':
      return driver.dropAll();
    case 'closeAll':
      return driver.closeAll();
    case 'snapshot':
      return driver.snapshot();
    case 'progress':
      return { live: driver.live(), outstanding: driver.outstanding() };
  }
}

function call(child: Child, command: Command | { op: 'init'; options: DriverOptions }): Promise<unknown> {
  const id = child.nextId++;
  return new Promise((resolve, reject) => {
    child.pending.set(id, resolve);
    child.process.send({ id, command }, (error) => {
      if (error !== null) reject(error);
    });
  });
}
