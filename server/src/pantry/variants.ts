/**
 * Adapted variants: a library frame cropped or filled for a screen of another orientation.
 *
 * A variant's id names its master, the screen and the fit (`{master}--portrait-crop`), and the fit
 * plan is a pure function of the master's size and analysis, so the id alone says how to render
 * it. A decision only names the variant (no image work on the decision path) and asks for it to be
 * warmed; the player's fetch finds it in memory, on disk, or renders it once — concurrent fetches
 * of one variant share one render. Rendered variants are kept on disk under DATA_DIR/variants/
 * (content never changes for an id) and the most recent in a byte-bounded memory cache.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { orientations, type Orientation } from '@titrate/shared';
import { limits } from '../limits.js';
import type { Metrics } from '../metrics/metrics.js';
import { fitFor } from './fit.js';
import { adaptFrame } from './image.js';
import type { FrameRow, FrameStore } from './store.js';

export type AdaptedFit = 'crop' | 'fill';

const variantPattern = new RegExp(`^([a-z0-9]{8,96})--(${orientations.join('|')})-(crop|fill)$`);

export function variantIdOf(masterId: string, screen: Orientation, fit: AdaptedFit): string {
  return `${masterId}--${screen}-${fit}`;
}

export function parseVariantId(id: string): { masterId: string; screen: Orientation; fit: AdaptedFit } | null {
  const match = variantPattern.exec(id);
  return match === null ? null : { masterId: match[1]!, screen: match[2] as Orientation, fit: match[3] as AdaptedFit };
}

export type VariantImage = { data: Buffer; contentType: 'image/webp' };
/** Where masters come from (the frame store; a benchmark passes files in memory). */
export type MasterSource = Pick<FrameStore, 'get' | 'readData'>;

export class FrameVariants {
  readonly #frames: MasterSource;
  readonly #directory: string;
  readonly #metrics: Metrics | null;
  readonly #log: Logger;
  /** id → bytes, least recently used first; bounded by `variantMemoryBytesMax`. */
  readonly #memory = new Map<string, Buffer>();
  #memoryBytes = 0;
  readonly #rendering = new Map<string, Promise<Buffer | null>>();
  #stopped = false;
  /** Renders running now, and those waiting for a turn (sharp shares libuv's small thread pool with file reads). */
  #rendersRunning = 0;
  readonly #rendersWaiting: Array<() => void> = [];

  constructor(options: { frames: MasterSource; dataDir: string; metrics: Metrics | null; log: Logger }) {
    this.#frames = options.frames;
    this.#directory = path.join(options.dataDir, 'variants');
    this.#metrics = options.metrics;
    this.#log = options.log;
  }

  /** The variant's bytes, rendering them at most once; null when the id names no valid variant. */
  async read(id: string): Promise<VariantImage | null> {
    const parsed = parseVariantId(id);
    if (parsed === null) return null;
    const cached = this.#memory.get(id);
    if (cached !== undefined) {
      this.#memory.delete(id);
      this.#memory.set(id, cached);
      this.#metrics?.pantryVariants.inc({ result: 'memory' });
      return { data: cached, contentType: 'image/webp' };
    }
    let render = this.#rendering.get(id);
    if (render === undefined) {
      render = this.#load(id, parsed)
        .catch((error: unknown) => {
          this.#log.warn({ err: error, variant: id }, 'a frame variant could not be rendered');
          return null;
        })
        .finally(() => this.#rendering.delete(id));
      this.#rendering.set(id, render);
    }
    const data = await render;
    return data === null ? null : { data, contentType: 'image/webp' };
  }

  /** Renders the variant ahead of the player's fetch (errors are logged, never thrown). */
  warm(id: string): void {
    if (this.#stopped || this.#memory.has(id) || this.#rendering.size >= limits.variantWarmingMax) return;
    this.read(id).catch((error: unknown) => this.#log.warn({ err: error, variant: id }, 'warming a frame variant failed'));
  }

  /** Stops warming and waits for the renders under way (they write into DATA_DIR). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#rendering.values()]);
  }

  #file(id: string): string {
    return path.join(this.#directory, id.slice(0, 2), `${id}.webp`);
  }

  async #load(id: string, parsed: NonNullable<ReturnType<typeof parseVariantId>>): Promise<Buffer | null> {
    const file = this.#file(id);
    const stored = await readFile(file).catch(() => null);
    if (stored !== null) {
      this.#metrics?.pantryVariants.inc({ result: 'disk' });
      this.#remember(id, stored);
      return stored;
    }
    const master = await this.#frames.get(parsed.masterId);
    if (master === null || master.source !== 'library') return null;
    const data = await this.#bounded(() => this.render(master, parsed.screen, parsed.fit));
    if (data === null) return null;
    await mkdir(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, data);
    await rename(temporary, file);
    this.#metrics?.pantryVariants.inc({ result: 'rendered' });
    this.#remember(id, data);
    return data;
  }

  /** Renders a master for a screen with the fit its plan gives; null when that is not `fit`. */
  async render(master: FrameRow, screen: Orientation, fit: AdaptedFit): Promise<Buffer | null> {
    const plan = fitFor(master, screen);
    if (plan.fit !== fit) return null;
    const data = await this.#frames.readData(master);
    return plan.fit === 'crop' ? adaptFrame(data, master, screen, { fit: 'crop', window: plan.window! }) : adaptFrame(data, master, screen, { fit: 'fill' });
  }

  async #bounded<T>(work: () => Promise<T>): Promise<T> {
    // A finishing render hands its turn straight to the next in line, so the bound is never overshot.
    if (this.#rendersRunning >= limits.variantRendersMax) await new Promise<void>((resolve) => this.#rendersWaiting.push(resolve));
    else this.#rendersRunning += 1;
    try {
      return await work();
    } finally {
      const next = this.#rendersWaiting.shift();
      if (next === undefined) this.#rendersRunning -= 1;
      else next();
    }
  }

  #remember(id: string, data: Buffer): void {
    if (data.byteLength > limits.variantMemoryBytesMax) return;
    this.#memory.set(id, data);
    this.#memoryBytes += data.byteLength;
    for (const [oldest, bytes] of this.#memory) {
      if (this.#memoryBytes <= limits.variantMemoryBytesMax) break;
      this.#memory.delete(oldest);
      this.#memoryBytes -= bytes.byteLength;
    }
  }
}
