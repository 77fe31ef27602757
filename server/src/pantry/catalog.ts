/**
 * The pantry catalog: an in-memory index of library frames, and the pure choice of a library frame
 * for a context, a screen and what this user has seen.
 *
 * Genre and mood are free strings from music metadata, so a context is first mapped to the
 * closest genre × mood group that has frames: the exact one, then known aliases ("hip-hop" →
 * hiphop, "sad" → melancholic), then one that suits the track's energy. Within the group, frames
 * are tried in the order of the orientation fallback chain (fit.ts): the screen's own orientation,
 * then crops of larger masters, then fills. Unseen frames come before any repeat, and among them
 * the styles this user has seen least; a repeat is the frame seen longest ago.
 *
 * Each frame's fit for each screen is computed once, when it is added, so a choice is one pass
 * over the group with no image work.
 */
import { orientations, type Context, type Orientation } from '@titrate/shared';
import { limits } from '../limits.js';
import { bucketKey, type Bucket, type BucketCoverage } from './coverage.js';
import { fitFor, type FitPlan, type FrameAnalysis } from './fit.js';
export type CatalogFrame = {
  id: string;
  genre: string;
  mood: string;
  style: string;
  orientation: Orientation;
  width: number;
  height: number;
  analysis: FrameAnalysis | null;
};

/** A genre × mood the context maps to (`exact` when it is the context's own). */
export type Group = { genre: string; mood: string; exact: boolean };
export type LibraryChoice = {
  frame: CatalogFrame;
  plan: FitPlan;
  group: Group;
  repeated: boolean;
  /** What this user has left for this screen in the group (before this frame). */
  coverage: BucketCoverage;
  reasons: string[];
};

type Fitted = { frame: CatalogFrame; plan: FitPlan };
type Screen = { exact: Fitted[]; crop: Fitted[]; fill: Fitted[] };
type GroupFrames = { genre: string; mood: string; screens: Record<Orientation, Screen> };

const genreAliases: Record<string, string> = {
  hiphop: 'hiphop', rap: 'hiphop', trap: 'hiphop', rnb: 'hiphop', grime: 'hiphop',
  trance: 'techno', edm: 'techno', electro: 'techno', dnb: 'techno', drumandbass: 'techno', dubstep: 'techno', industrial: 'techno',
  deephouse: 'house', disco: 'house', funk: 'house', dance: 'house', garage: 'house', pop: 'house',
  chillout: 'ambient', lofi: 'ambient', classical: 'ambient', newage: 'ambient', downtempo: 'ambient', soundtrack: 'ambient',
  blues: 'jazz', soul: 'jazz', swing: 'jazz', bossanova: 'jazz',
  metal: 'rock', punk: 'rock', grunge: 'rock', indie: 'rock', alternative: 'rock', hardrock: 'rock',
};
const moodAliases: Record<string, string> = {
  chill: 'calm', relaxed: 'calm', peaceful: 'calm', serene: 'calm', mellow: 'calm',
  hype: 'energetic', intense: 'energetic', aggressive: 'energetic', excited: 'energetic', party: 'energetic',
  angry: 'dark', moody: 'dark', ominous: 'dark', gloomy: 'dark',
  happy: 'uplifting', joyful: 'uplifting', euphoric: 'uplifting', bright: 'uplifting', hopeful: 'uplifting',
  sad: 'melancholic', nostalgic: 'melancholic', wistful: 'melancholic', somber: 'melancholic',
};
/** Genres in the order they suit low, middle and high energy. */
const genresByEnergy = { low: ['ambient', 'jazz', 'house'], middle: ['house', 'hiphop', 'jazz'], high: ['techno', 'rock', 'house'] };

/** Lower case, letters and digits only: "Hip-Hop" and "hip hop" both become "hiphop". */
export function normaliseLabel(label: string): string {
  return label.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]/g, '');
}

export const groupKey = (genre: string, mood: string) => `${genre}|${mood}`;

const emptyScreen = (): Screen => ({ exact: [], crop: [], fill: [] });

export class PantryCatalog {
  readonly #groups = new Map<string, GroupFrames>();
  /** genre → moods with frames. */
  readonly #moods = new Map<string, Set<string>>();
  readonly #ids = new Set<string>();

  get size(): number {
    return this.#ids.size;
  }

  has(frameId: string): boolean {
    return this.#ids.has(frameId);
  }

  add(frame: CatalogFrame): void {
    if (this.#ids.has(frame.id)) return;
    if (this.#ids.size >= limits.catalogFramesMax) throw new Error(`catalog is full (${limits.catalogFramesMax} frames)`);
    this.#ids.add(frame.id);
    const key = groupKey(frame.genre, frame.mood);
    let group = this.#groups.get(key);
    if (group === undefined) {
      group = { genre: frame.genre, mood: frame.mood, screens: { landscape: emptyScreen(), portrait: emptyScreen(), square: emptyScreen() } };
      this.#groups.set(key, group);
    }
    for (const screen of orientations) {
      const plan = fitFor(frame, screen);
      group.screens[screen][plan.fit].push({ frame, plan });
    }
    const moods = this.#moods.get(frame.genre) ?? new Set<string>();
    moods.add(frame.mood);
    this.#moods.set(frame.genre, moods);
  }

  /** The frames stored in a bucket's orientation (not those adapted to it). */
  framesIn(bucket: Bucket): CatalogFrame[] {
    return (this.#groups.get(groupKey(bucket.genre, bucket.mood))?.screens[bucket.orientation].exact ?? []).map((fitted) => fitted.frame);
  }

  /** Every bucket with frames, with its frame count and style counts (for the fill plan and report). */
  buckets(): Array<Bucket & { total: number; styleCounts: Map<string, number> }> {
    const result: Array<Bucket & { total: number; styleCounts: Map<string, number> }> = [];
    for (const group of this.#groups.values()) {
      for (const orientation of orientations) {
        const styleCounts = new Map<string, number>();
        const native = group.screens[orientation].exact;
        for (const { frame } of native) styleCounts.set(frame.style, (styleCounts.get(frame.style) ?? 0) + 1);
        result.push({ genre: group.genre, mood: group.mood, orientation, total: native.length, styleCounts });
      }
    }
    return result.sort((a, b) => bucketKey(a).localeCompare(bucketKey(b)));
  }

  /** The closest genre × mood with frames, or null when the catalog is empty. */
  resolve(context: Context): Group | null {
    if (this.#moods.size === 0) return null;
    const wantedGenre = normaliseLabel(context.genre);
    const wantedMood = normaliseLabel(context.mood);
    const genre = closestGenre(wantedGenre, context.energy, this.#moods);
    const mood = closestMood(wantedMood, context.energy, this.#moods.get(genre)!);
    return { genre, mood, exact: genre === wantedGenre && mood === wantedMood };
  }

  /**
   * Chooses a frame for the context and screen. `seen` lists the frames this user saw in the
   * group, oldest first. `random` returns numbers in [0, 1) (injected so choices are reproducible).
   */
  choose(context: Context, orientation: Orientation, seen: readonly string[], random: () => number): LibraryChoice | null {
    const group = this.resolve(context);
    if (group === null) return null;
    const screen = this.#groups.get(groupKey(group.genre, group.mood))!.screens[orientation];
    const order = new Map<string, number>();
    for (let index = 0; index < seen.length; index += 1) order.set(seen[index]!, index);
    const coverage = coverageOf(screen, order);
    const styleViews = new Map<string, number>();
    for (const tier of [screen.exact, screen.crop, screen.fill]) {
      for (const { frame } of tier) if (order.has(frame.id)) styleViews.set(frame.style, (styleViews.get(frame.style) ?? 0) + 1);
    }
    const reasons: string[] = [];
    if (!group.exact) reasons.push(`closest library bucket: ${group.genre} / ${group.mood}`);
    for (const tier of [screen.exact, screen.crop, screen.fill]) {
      const fitted = leastSeenStyle(tier, order, styleViews, random);
      if (fitted !== null) return { ...fitted, group, repeated: false, coverage, reasons: [...reasons, ...fitReasons(fitted), 'library frame you have not seen'] };
    }
    const tier = screen.exact.length > 0 ? screen.exact : screen.crop.length > 0 ? screen.crop : screen.fill;
    const oldest = tier.reduce((best, fitted) => ((order.get(fitted.frame.id) ?? -1) < (order.get(best.frame.id) ?? -1) ? fitted : best));
    reasons.push(...fitReasons(oldest), 'every library frame for this track was seen; repeating the one seen longest ago');
    return { ...oldest, group, repeated: true, coverage, reasons };
  }
}

/** Frames that fit this screen well (exact and crops), and how many of them this user has not seen. */
function coverageOf(screen: Screen, seen: ReadonlyMap<string, number>): BucketCoverage {
  const styles = new Set<string>();
  let unseen = 0;
  let exactUnseen = 0;
  for (const { frame } of screen.exact) {
    if (seen.has(frame.id)) continue;
    unseen += 1;
    exactUnseen += 1;
    styles.add(frame.style);
  }
  for (const { frame } of screen.crop) {
    if (seen.has(frame.id)) continue;
    unseen += 1;
    styles.add(frame.style);
  }
  return { total: screen.exact.length + screen.crop.length, unseen, styles: styles.size, exactUnseen };
}

/** An unseen frame of the style seen least (ties broken at random), or null when all were seen. */
function leastSeenStyle(tier: readonly Fitted[], seen: ReadonlyMap<string, number>, styleViews: ReadonlyMap<string, number>, random: () => number): Fitted | null {
  let fewest = Number.POSITIVE_INFINITY;
  let candidates: Fitted[] = [];
  for (const fitted of tier) {
    if (seen.has(fitted.frame.id)) continue;
    const views = styleViews.get(fitted.frame.style) ?? 0;
    if (views < fewest) {
      fewest = views;
      candidates = [fitted];
    } else if (views === fewest) {
      candidates.push(fitted);
    }
  }
  return candidates.length === 0 ? null : candidates[Math.floor(random() * candidates.length) % candidates.length]!;
}

function fitReasons(fitted: Fitted): string[] {
  if (fitted.plan.fit === 'crop') return [`cropped from a ${fitted.frame.orientation} frame around its subject`];
  if (fitted.plan.fit === 'fill') return [`a ${fitted.frame.orientation} frame fitted with colours from its own palette`];
  return [];
}

function closestGenre(wanted: string, energy: number, genres: Map<string, Set<string>>): string {
  if (genres.has(wanted)) return wanted;
  const alias = genreAliases[wanted];
  if (alias !== undefined && genres.has(alias)) return alias;
  const band = energy >= 0.6 ? 'high' : energy <= 0.35 ? 'low' : 'middle';
  const suited = genresByEnergy[band].find((genre) => genres.has(genre));
  return suited ?? [...genres.keys()].sort()[0]!;
}

function closestMood(wanted: string, energy: number, moods: Set<string>): string {
  if (moods.has(wanted)) return wanted;
  const alias = moodAliases[wanted];
  if (alias !== undefined && moods.has(alias)) return alias;
  const byEnergy = energy >= 0.7 ? ['energetic', 'uplifting'] : energy <= 0.3 ? ['calm', 'melancholic'] : ['uplifting', 'calm'];
  return byEnergy.find((mood) => moods.has(mood)) ?? [...moods].sort()[0]!;
}
