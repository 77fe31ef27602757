/**
 * Prompts, built from the musical context (pure). A prompt is a function of the bucket the frame
 * is for — genre, mood, an energy band, the art style and the screen's orientation — never of the
 * user, so that two viewers of the same kind of music share one prompt and the prompt cache can
 * serve the second from the first's image. Energy is banded (five steps) for the same reason:
 * 0.71 and 0.74 should not be two different paid images.
 *
 * The hash covers everything that changes the image: model, size, prompt text and variant. A
 * variant number lets one prompt have several images, so a viewer who has seen variant 0 gets
 * variant 1 rather than the same picture again.
 */
import { createHash } from 'node:crypto';
import type { Context, Orientation } from '@titrate/shared';
import { artStyles, hashString } from '../pantry/art.js';
import { normaliseLabel } from '../pantry/catalog.js';

export const energyBands = ['still', 'gentle', 'steady', 'driving', 'explosive'] as const;
export type EnergyBand = (typeof energyBands)[number];

export type PromptInput = { context: Context; style: string; orientation: Orientation };
export type Prompt = { text: string; negative: string; genre: string; mood: string; energyBand: EnergyBand; energy: number };

const styleWords: Record<string, string> = {
  nebula: 'glowing nebula clouds, soft volumetric light, drifting stars',
  geometric: 'bold geometric shapes, overlapping polygons, clean vector edges',
  waves: 'layered flowing waves, liquid gradients, rhythmic ripples',
  grid: 'retro synthwave horizon, neon grid floor, setting sun',
  rings: 'concentric rings, pulsing circular rhythm, kinetic dashes',
};
const energyWords: Record<EnergyBand, string> = {
  still: 'almost motionless, vast empty space, minimal',
  gentle: 'slow, airy, sparse composition',
  steady: 'balanced movement, medium density',
  driving: 'dense, fast motion, strong contrast',
  explosive: 'explosive, maximal density, sharp high-contrast bursts',
};
const framing: Record<Orientation, string> = {
  landscape: 'wide landscape composition',
  portrait: 'tall portrait composition, subject centred vertically',
  square: 'square centred composition',
};
/** What no frame should contain (for providers that take a negative prompt). */
export const negativePrompt = 'text, letters, watermark, logo, signature, people, faces, hands, photo, blurry, jpeg artifacts';

/**
 * The art style of a session's next fresh frame: rotating through every style as the session goes
 * on (variety), from a starting point fixed by genre and mood (so viewers of the same music at the
 * same point share prompts, and the cache can serve one from the other).
 */
export function styleFor(context: Context, framesShown: number): string {
  const start = hashString(`${normaliseLabel(context.genre)}|${normaliseLabel(context.mood)}`);
  return artStyles[(start + framesShown) % artStyles.length]!;
}

/** The band of an energy in 0..1 (the top value belongs to the top band). */
export function energyBandOf(energy: number): EnergyBand {
  const clamped = Math.min(1, Math.max(0, energy));
  return energyBands[Math.min(energyBands.length - 1, Math.floor(clamped * energyBands.length))]!;
}

/** The band's midpoint, so a prompt's energy does not depend on where in the band the track was. */
export function energyOfBand(band: EnergyBand): number {
  return (energyBands.indexOf(band) + 0.5) / energyBands.length;
}

/**
 * Genre and mood enter the prompt normalised and length-limited: they are free text from music
 * metadata, and a prompt must not become a channel for arbitrary instructions to the model.
 */
function cleanLabel(label: string): string {
  const cleaned = normaliseLabel(label).slice(0, 24);
  return cleaned === '' ? 'unknown' : cleaned;
}

export function buildPrompt(input: PromptInput): Prompt {
  const genre = cleanLabel(input.context.genre);
  const mood = cleanLabel(input.context.mood);
  const band = energyBandOf(input.context.energy);
  const style = styleWords[input.style] ?? 'abstract generative art';
  const text =
    `Abstract music visualizer artwork for ${genre} music with a ${mood} mood. ` +
    `${style}. ${energyWords[band]}. ${framing[input.orientation]}. ` +
    'No text, rich colour, high detail, suitable as a full-screen background.';
  return { text, negative: negativePrompt, genre, mood, energyBand: band, energy: energyOfBand(band) };
}

/** What makes two images interchangeable except for their variant: model, size and prompt. */
export function promptKeyOf(parts: { modelId: string; width: number; height: number; prompt: string }): string {
  return createHash('sha256').update(JSON.stringify([parts.modelId, parts.width, parts.height, parts.prompt])).digest('hex').slice(0, 40);
}

/** The cache key of one image: same prompt key and variant → same image. */
export function promptHash(promptKey: string, variant: number): string {
  return createHash('sha256').update(`${promptKey}:${variant}`).digest('hex').slice(0, 40);
}

/** A 31-bit seed from a hash, for providers that take one. */
export function seedOf(hash: string): number {
  return Number.parseInt(hash.slice(0, 8), 16) & 0x7fffffff;
}
