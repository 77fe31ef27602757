/**
 * The demo pantry, rendered on first start so that a fresh install has something to show: every
 * genre × mood × orientation bucket gets `perBucket` frames, rotating through the art styles
 * (offset per bucket so that all styles appear across the library) and spreading energy.
 */
import sharp from 'sharp';
import type { Logger } from 'pino';
import { orientations, type Orientation } from '@titrate/shared';
import { limits } from '../limits.js';
import { artStyles, demoGenres, demoMoods, hashString, renderArtSvg, type ArtRequest } from './art.js';
import type { FrameRow, FrameStore } from './store.js';

export type DemoPlan = { genres: readonly string[]; moods: readonly string[]; orientations: readonly Orientation[]; perBucket: number };

export const defaultDemoPlan = (perBucket: number): DemoPlan => ({ genres: demoGenres, moods: demoMoods, orientations, perBucket });

/** The art requests of a demo pantry (pure). */
export function demoRequests(plan: DemoPlan): ArtRequest[] {
  const requests: ArtRequest[] = [];
  for (const genre of plan.genres) {
    for (const mood of plan.moods) {
      for (const orientation of plan.orientations) {
        const offset = hashString(`${genre}|${mood}`) % artStyles.length;
        for (let index = 0; index < plan.perBucket; index += 1) {
          const style = artStyles[(offset + index) % artStyles.length]!;
          const energy = plan.perBucket === 1 ? 0.5 : 0.15 + (0.75 * index) / (plan.perBucket - 1);
          requests.push({ genre, mood, style, energy, orientation, seed: `demo-${index}` });
        }
      }
    }
  }
  return requests;
}

/** Renders one art request to WebP. */
export async function renderArt(request: ArtRequest): Promise<{ data: Buffer; width: number; height: number }> {
  const { svg, width, height } = renderArtSvg(request);
  const data = await sharp(Buffer.from(svg)).webp({ quality: 80, effort: 2 }).toBuffer();
  return { data, width, height };
}

/** Renders and stores the demo pantry; returns the stored frames. */
export async function seedDemoPantry(store: FrameStore, plan: DemoPlan, log: Logger): Promise<FrameRow[]> {
  const requests = demoRequests(plan);
  const startedMs = Date.now();
  log.info({ frames: requests.length }, 'rendering the demo pantry (first start only)');
  const stored: FrameRow[] = [];
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      const { data, width, height } = await renderArt(request);
      stored.push(
        await store.add({
          source: 'library', genre: request.genre, mood: request.mood, style: request.style, orientation: request.orientation,
          energy: request.energy, width, height, contentType: 'image/webp', data, prompt: null,
          // Procedural art fills its frame edge to edge: no analysis (30 ms a frame, half a minute
          // of a first start), so other screens get fills, which keep the whole picture.
          analysis: null,
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: limits.demoRenderConcurrency }, worker));
  log.info({ frames: stored.length, ms: Date.now() - startedMs }, 'demo pantry ready');
  return stored;
}
