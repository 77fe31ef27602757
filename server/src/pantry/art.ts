/**
 * Procedural art: an SVG drawn from (genre, mood, style, energy, orientation, seed). Pure and
 * deterministic — the same inputs give the same picture — so the demo pantry and the local
 * generation provider need no network and tests can compare outputs.
 *
 * How the inputs show: the genre picks the palette's hues (techno cyan/magenta, rock red/black…),
 * the mood its saturation and lightness (dark is dim, energetic is saturated and contrasty,
 * melancholic drifts blue), the energy the number, size and sharpness of the shapes, and the
 * style the composition.
 */
import type { Orientation } from '@titrate/shared';

export const demoGenres = ['techno', 'house', 'ambient', 'jazz', 'hiphop', 'rock'] as const;
export const demoMoods = ['calm', 'energetic', 'dark', 'uplifting', 'melancholic'] as const;
export const artStyles = ['nebula', 'geometric', 'waves', 'grid', 'rings'] as const;
export type ArtStyle = (typeof artStyles)[number];

export const frameSizes: Record<Orientation, { width: number; height: number }> = {
  landscape: { width: 1280, height: 720 },
  portrait: { width: 720, height: 1280 },
  square: { width: 960, height: 960 },
};

export type ArtRequest = {
  genre: string;
  mood: string;
  style: ArtStyle;
  energy: number;
  orientation: Orientation;
  seed: string;
};

type Palette = { background: [string, string]; colors: string[] };
type Random = () => number;

const genreHues: Record<string, [number, number, number]> = {
  techno: [190, 300, 260],
  house: [280, 30, 330],
  ambient: [170, 215, 140],
  jazz: [35, 220, 15],
  hiphop: [45, 0, 280],
  rock: [0, 20, 210],
};
const moodTone: Record<string, { saturation: number; lightness: number; backgroundLightness: number; hueShift: number }> = {
  calm: { saturation: 45, lightness: 62, backgroundLightness: 18, hueShift: 0 },
  energetic: { saturation: 92, lightness: 56, backgroundLightness: 8, hueShift: 0 },
  dark: { saturation: 60, lightness: 34, backgroundLightness: 4, hueShift: -10 },
  uplifting: { saturation: 78, lightness: 66, backgroundLightness: 26, hueShift: 15 },
  melancholic: { saturation: 30, lightness: 50, backgroundLightness: 14, hueShift: 25 },
};

/** FNV-1a: a stable 32-bit hash of a string, to seed the generator. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** mulberry32: a small, fast, well-distributed PRNG; good enough for pictures, not for secrets. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

function hsl(hue: number, saturation: number, lightness: number): string {
  const wrapped = ((hue % 360) + 360) % 360;
  return `hsl(${wrapped.toFixed(0)},${Math.min(100, Math.max(0, saturation)).toFixed(0)}%,${Math.min(100, Math.max(0, lightness)).toFixed(0)}%)`;
}

export function paletteFor(genre: string, mood: string, random: Random): Palette {
  const hues = genreHues[genre] ?? [hashString(genre) % 360, (hashString(genre) + 140) % 360, (hashString(genre) + 220) % 360];
  const tone = moodTone[mood] ?? { saturation: 60, lightness: 55, backgroundLightness: 14, hueShift: hashString(mood) % 40 };
  const jitter = () => (random() - 0.5) * 16;
  const colors = hues.map((hue) => hsl(hue + tone.hueShift + jitter(), tone.saturation + jitter(), tone.lightness + jitter()));
  colors.push(hsl(hues[0] + tone.hueShift + 180, tone.saturation * 0.6, tone.lightness + 14));
  const background: [string, string] = [
    hsl(hues[2] + tone.hueShift, tone.saturation * 0.5, tone.backgroundLightness),
    hsl(hues[1] + tone.hueShift, tone.saturation * 0.6, tone.backgroundLightness + 6),
  ];
  return { background, colors };
}

const pick = <T>(items: readonly T[], random: Random): T => items[Math.floor(random() * items.length) % items.length]!;
const round = (value: number) => value.toFixed(1);

type Canvas = { width: number; height: number; random: Random; palette: Palette; energy: number };

function nebula({ width, height, random, palette, energy }: Canvas): string {
  const count = 6 + Math.round(energy * 14);
  const parts: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const radius = (0.12 + random() * 0.4) * Math.max(width, height) * (1.1 - energy * 0.4);
    parts.push(
      `<circle cx="${round(random() * width)}" cy="${round(random() * height)}" r="${round(radius)}" fill="url(#glow${index % palette.colors.length})" opacity="${(0.35 + random() * 0.5).toFixed(2)}"/>`,
    );
  }
  const stars = Math.round(40 + energy * 160);
  for (let index = 0; index < stars; index += 1) {
    parts.push(`<circle cx="${round(random() * width)}" cy="${round(random() * height)}" r="${(0.6 + random() * 1.8).toFixed(1)}" fill="#fff" opacity="${(0.3 + random() * 0.7).toFixed(2)}"/>`);
  }
  return parts.join('');
}

function geometric({ width, height, random, palette, energy }: Canvas): string {
  const count = 8 + Math.round(energy * 30);
  const parts: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const cx = random() * width;
    const cy = random() * height;
    const size = (0.05 + random() * 0.25) * Math.min(width, height) * (1.2 - energy * 0.5);
    const sides = pick([3, 3, 4, 6], random);
    const rotation = random() * Math.PI * 2;
    const points = Array.from({ length: sides }, (_, corner) => {
      const angle = rotation + (corner / sides) * Math.PI * 2;
      return `${round(cx + Math.cos(angle) * size)},${round(cy + Math.sin(angle) * size)}`;
    }).join(' ');
    const filled = random() < 0.6;
    const color = pick(palette.colors, random);
    parts.push(
      filled
        ? `<polygon points="${points}" fill="${color}" opacity="${(0.45 + random() * 0.5).toFixed(2)}"/>`
        : `<polygon points="${points}" fill="none" stroke="${color}" stroke-width="${round(2 + energy * 8)}" opacity="0.9"/>`,
    );
  }
  return parts.join('');
}

function waves({ width, height, random, palette, energy }: Canvas): string {
  const bands = 5 + Math.round(energy * 7);
  const parts: string[] = [];
  for (let band = 0; band < bands; band += 1) {
    const baseline = ((band + 1) / (bands + 1)) * height;
    const amplitude = (0.03 + random() * 0.08 + energy * 0.08) * height;
    const frequency = (1 + random() * 2 + energy * 4) * ((Math.PI * 2) / width);
    const phase = random() * Math.PI * 2;
    const steps = 48;
    let path = `M0,${round(height)} L0,${round(baseline)}`;
    for (let step = 1; step <= steps; step += 1) {
      const x = (step / steps) * width;
      path += ` L${round(x)},${round(baseline + Math.sin(x * frequency + phase) * amplitude)}`;
    }
    path += ` L${round(width)},${round(height)} Z`;
    parts.push(`<path d="${path}" fill="${pick(palette.colors, random)}" opacity="${(0.25 + random() * 0.35).toFixed(2)}"/>`);
  }
  return parts.join('');
}

function grid({ width, height, random, palette, energy }: Canvas): string {
  const horizon = height * (0.45 + random() * 0.15);
  const sunRadius = Math.min(width, height) * (0.14 + random() * 0.1);
  const sunColor = palette.colors[1] ?? '#f0a';
  const parts = [`<circle cx="${round(width / 2)}" cy="${round(horizon)}" r="${round(sunRadius)}" fill="${sunColor}" opacity="0.9"/>`];
  const stripes = 4 + Math.round(energy * 4);
  for (let stripe = 0; stripe < stripes; stripe += 1) {
    const y = horizon - sunRadius * (stripe / stripes) * 0.8;
    parts.push(`<rect x="${round(width / 2 - sunRadius)}" y="${round(y)}" width="${round(sunRadius * 2)}" height="${round(2 + stripe)}" fill="${palette.background[0]}"/>`);
  }
  parts.push(`<rect x="0" y="${round(horizon)}" width="${width}" height="${round(height - horizon)}" fill="${palette.background[0]}" opacity="0.85"/>`);
  const lineColor = palette.colors[0] ?? '#0ff';
  const rows = 8 + Math.round(energy * 10);
  for (let row = 1; row <= rows; row += 1) {
    const y = horizon + (height - horizon) * Math.pow(row / rows, 2);
    parts.push(`<line x1="0" y1="${round(y)}" x2="${width}" y2="${round(y)}" stroke="${lineColor}" stroke-width="${round(1 + (row / rows) * 3)}" opacity="0.8"/>`);
  }
  const columns = 10 + Math.round(energy * 14);
  for (let column = -columns; column <= columns; column += 1) {
    const x = width / 2 + (column / columns) * width * 1.5;
    parts.push(`<line x1="${round(width / 2 + (column / columns) * width * 0.08)}" y1="${round(horizon)}" x2="${round(x)}" y2="${height}" stroke="${lineColor}" stroke-width="1.5" opacity="0.7"/>`);
  }
  return parts.join('');
}

function rings({ width, height, random, palette, energy }: Canvas): string {
  const centres = 1 + Math.round(random() * 2);
  const parts: string[] = [];
  for (let centre = 0; centre < centres; centre += 1) {
    const cx = width * (0.2 + random() * 0.6);
    const cy = height * (0.2 + random() * 0.6);
    const count = 6 + Math.round(energy * 14);
    for (let ring = count; ring >= 1; ring -= 1) {
      const radius = (ring / count) * Math.max(width, height) * 0.6;
      const dash = random() < energy ? ` stroke-dasharray="${round(4 + random() * 40)} ${round(4 + random() * 20)}"` : '';
      parts.push(
        `<circle cx="${round(cx)}" cy="${round(cy)}" r="${round(radius)}" fill="none" stroke="${pick(palette.colors, random)}" stroke-width="${round(2 + random() * (4 + energy * 14))}"${dash} opacity="${(0.4 + random() * 0.5).toFixed(2)}"/>`,
      );
    }
  }
  return parts.join('');
}

const painters: Record<ArtStyle, (canvas: Canvas) => string> = { nebula, geometric, waves, grid, rings };

/** The SVG for one frame, at the orientation's size. */
export function renderArtSvg(request: ArtRequest): { svg: string; width: number; height: number } {
  const { width, height } = frameSizes[request.orientation];
  const random = seededRandom(hashString(`${request.genre}|${request.mood}|${request.style}|${request.orientation}|${request.seed}`));
  const palette = paletteFor(request.genre, request.mood, random);
  const energy = Math.min(1, Math.max(0, request.energy));
  const glows = palette.colors
    .map((color, index) => `<radialGradient id="glow${index}"><stop offset="0" stop-color="${color}" stop-opacity="0.9"/><stop offset="1" stop-color="${color}" stop-opacity="0"/></radialGradient>`)
    .join('');
  const body = painters[request.style]({ width, height, random, palette, energy });
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<defs><linearGradient id="bg" x1="0" y1="0" x2="${round(random())}" y2="1"><stop offset="0" stop-color="${palette.background[0]}"/><stop offset="1" stop-color="${palette.background[1]}"/></linearGradient>${glows}` +
    `<radialGradient id="vignette" cx="0.5" cy="0.5" r="0.75"><stop offset="0.6" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.55"/></radialGradient></defs>` +
    `<rect width="${width}" height="${height}" fill="url(#bg)"/>${body}<rect width="${width}" height="${height}" fill="url(#vignette)"/></svg>`;
  return { svg, width, height };
}
