/**
 * The default provider: the procedural art of `pantry/art.ts`, rendered on our own CPU. It needs no
 * network and no key, answers in tens of milliseconds, and is deterministic — the same request
 * gives the same bytes — so a fresh install generates real, music-following frames and tests can
 * compare them.
 *
 * The two grades differ the way real models do, in detail rather than in subject:
 *   - "detailed" (`steps >= 2`) rasterises the SVG at full frame size and encodes near-lossless;
 *   - "sketch" (`steps == 1`) rasterises at half the size (a quarter of the pixels, so about four
 *     times cheaper) and encodes at a low quality. The normaliser scales it back up to the frame
 *     size, so a sketch is visibly softer, with blurred stars and edges, at the same composition.
 * Half size rather than a lower quality alone because resolution is what a viewer notices first
 * on a big screen, and because it actually saves the render time a cheaper model should save.
 *
 * The render itself cannot be interrupted (sharp runs it on its own thread), so the abort signal
 * is checked before and after it; the optional `delayMs` stands in for a slow model in demos and
 * tests and is abortable.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { artStyles, hashString, renderArtSvg, type ArtStyle } from '../../pantry/art.js';
import { providerLimits } from './limits.js';
import { ProviderError, type ImageProvider, type ImageRequest, type ProviderImage } from './provider.js';

/** SVG user units per inch when sharp rasterises: 72 draws one unit as one pixel. */
const fullDensityDotsPerInch = 72;
const sketchScale = 0.5;
const detailedWebpQuality = 92;
const sketchWebpQuality = 55;

export type LocalProviderOptions = {
  /** Simulated generation time before the render (0 = none). */
  delayMs?: number;
};

export type LocalRenderPlan = { style: ArtStyle; seed: string; density: number; quality: number };

/** What the local provider will draw for a request (pure). */
export function localRenderPlan(request: ImageRequest): LocalRenderPlan {
  const seed = `seed-${request.seed}`;
  const style = (artStyles as readonly string[]).includes(request.style)
    ? (request.style as ArtStyle)
    : artStyles[hashString(seed) % artStyles.length]!;
  const detailed = request.model.steps >= 2;
  return {
    style,
    seed,
    density: detailed ? fullDensityDotsPerInch : fullDensityDotsPerInch * sketchScale,
    quality: detailed ? detailedWebpQuality : sketchWebpQuality,
  };
}

export class LocalProvider implements ImageProvider {
  readonly name = 'local' as const;
  readonly #delayMs: number;

  constructor(options: LocalProviderOptions = {}) {
    const delayMs = options.delayMs ?? 0;
    if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > providerLimits.localDelayMsMax) {
      throw new RangeError(`delayMs must be an integer from 0 to ${providerLimits.localDelayMsMax}`);
    }
    this.#delayMs = delayMs;
  }

  async generate(request: ImageRequest, signal: AbortSignal): Promise<ProviderImage> {
    throwIfAborted(signal);
    if (this.#delayMs > 0) {
      await sleep(this.#delayMs, undefined, { signal }).catch((error: unknown) => {
        throw new ProviderError('timeout', 'the local render was cancelled while waiting', { cause: error });
      });
    }
    const plan = localRenderPlan(request);
    const { svg } = renderArtSvg({
      genre: request.genre,
      mood: request.mood,
      style: plan.style,
      energy: request.energy,
      orientation: request.orientation,
      seed: plan.seed,
    });
    const data = await rasterise(svg, plan);
    throwIfAborted(signal);
    return { data };
  }
}

async function rasterise(svg: string, plan: LocalRenderPlan): Promise<Buffer> {
  try {
    return await sharp(Buffer.from(svg), { density: plan.density }).webp({ quality: plan.quality, effort: 2 }).toBuffer();
  } catch (error) {
    // Our own SVG failing to render is a bug, but the contract is one error type: report it as ours.
    throw new ProviderError('unavailable', 'the local renderer failed', { cause: error });
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new ProviderError('timeout', 'the local render was cancelled', { cause: signal.reason });
}
