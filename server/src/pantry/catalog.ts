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
import type { SeenFrames } from './seen.js';
import { variantIdOf } from './variants.js';
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
  /** What the player fetches for this screen: the frame itself, or its adapted variant. */
  servedId: string;
  /** Shared by every choice for the context's track: not to be changed. */
  group: Readonly<Group>;
  repeated: boolean;
  /** What this user has left for this screen in the group (before this frame). */
  coverage: BucketCoverage;
  reasons: string[];
};

/** A frame as one screen shows it; its served id is made once, when the frame is added. */
type Fitted = { frame: CatalogFrame; plan: FitPlan; servedId: string };
/** A screen's frames by fit; `tiers` is the same three lists in the order a choice tries them. */
type Screen = { exact: Fitted[]; crop: Fitted[]; fill: Fitted[]; tiers: readonly [Fitted[], Fitted[], Fitted[]] };
type GroupFrames = { genre: string; mood: string; screens: Record<Orientation, Screen> };
/** A context's group as last resolved, with its frames, and the catalog version it holds for. */
type Resolution = { version: number; group: Readonly<Group> | null; frames: GroupFrames | null };

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

function emptyScreen(): Screen {
  const exact: Fitted[] = [];
  const crop: Fitted[] = [];
  const fill: Fitted[] = [];
  return { exact, crop, fill, tiers: [exact, crop, fill] };
}

export class PantryCatalog {
  readonly #groups = new Map<string, GroupFrames>();
  /** genre → moods with frames. */
  readonly #moods = new Map<string, Set<string>>();
  readonly #ids = new Set<string>();
  /** Moves on with every frame added: a resolution made before then is made again. */
  #version = 0;
  /**
   * The last resolution of each frozen context. A session keeps one frozen context per track and
   * asks for its group several times a decision (its seen frames, its segment, the choice); the
   * labels' normalisation and the alias search run once per track instead.
   */
  readonly #resolutions = new WeakMap<Context, Resolution>();

  get size(): number {
    return this.#ids.size;
  }

  has(frameId: string): boolean {
    return this.#ids.has(frameId);
  }

  /** Indexes a frame; 'full' (and nothing indexed) past `catalogFramesMax`, an operating limit, not a crash. */
  add(frame: CatalogFrame): 'added' | 'present' | 'full' {
    if (this.#ids.has(frame.id)) return 'present';
    if (this.#ids.size >= limits.catalogFramesMax) return 'full';
    this.#ids.add(frame.id);
    this.#version += 1;
    const key = groupKey(frame.genre, frame.mood);
    let group = this.#groups.get(key);
    if (group === undefined) {
      group = { genre: frame.genre, mood: frame.mood, screens: { landscape: emptyScreen(), portrait: emptyScreen(), square: emptyScreen() } };
      this.#groups.set(key, group);
    }
    for (const screen of orientations) {
      const plan = fitFor(frame, screen);
      group.screens[screen][plan.fit].push({ frame, plan, servedId: plan.fit === 'exact' ? frame.id : variantIdOf(frame.id, screen, plan.fit) });
    }
    const moods = this.#moods.get(frame.genre) ?? new Set<string>();
    moods.add(frame.mood);
    this.#moods.set(frame.genre, moods);
    return 'added';
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

  /** The closest genre × mood with frames, or null when the catalog is empty. Shared: not to be changed. */
  resolve(context: Context): Readonly<Group> | null {
    return this.#resolution(context).group;
  }

  #resolution(context: Context): Resolution {
    const known = this.#resolutions.get(context);
    if (known !== undefined && known.version === this.#version) return known;
    const resolution = this.#resolveAnew(context);
    // Only a frozen context is kept: one that could change could not answer for itself later.
    if (Object.isFrozen(context)) this.#resolutions.set(context, resolution);
    return resolution;
  }

  #resolveAnew(context: Context): Resolution {
    if (this.#moods.size === 0) return { version: this.#version, group: null, frames: null };
    const wantedGenre = normaliseLabel(context.genre);
    const wantedMood = normaliseLabel(context.mood);
    const genre = closestGenre(wantedGenre, context.energy, this.#moods);
    const mood = closestMood(wantedMood, context.energy, this.#moods.get(genre)!);
    const group = Object.freeze({ genre, mood, exact: genre === wantedGenre && mood === wantedMood });
    return { version: this.#version, group, frames: this.#groups.get(groupKey(genre, mood))! };
  }

  /**
   * Chooses a frame for the context and screen. `seen` lists the frames this user saw in the
   * group, oldest first. `random` returns numbers in [0, 1) (injected so choices are reproducible).
   */
  choose(context: Context, orientation: Orientation, seen: SeenFrames, random: () => number): LibraryChoice | null {
    const { group, frames } = this.#resolution(context);
    if (group === null || frames === null) return null;
    const screen = frames.screens[orientation];
    // One pass over the group: what is unseen per fit, the user's views per style, the coverage.
    const styleViews = new Map<string, number>();
    const unseenStyles = new Set<string>();
    const unseenByTier: [Fitted[], Fitted[], Fitted[]] = [[], [], []];
    for (let tier = 0; tier < 3; tier += 1) {
      const unseen = unseenByTier[tier]!;
      for (const fitted of screen.tiers[tier]!) {
        const style = fitted.frame.style;
        if (seen.has(fitted.frame.id)) {
          styleViews.set(style, (styleViews.get(style) ?? 0) + 1);
        } else {
          unseen.push(fitted);
          if (tier < 2) unseenStyles.add(style);
        }
      }
    }
    const coverage: BucketCoverage = {
      total: screen.exact.length + screen.crop.length, unseen: unseenByTier[0]!.length + unseenByTier[1]!.length,
      styles: unseenStyles.size, exactUnseen: unseenByTier[0]!.length,
    };
    const reasons: string[] = [];
    if (!group.exact) reasons.push(`closest library bucket: ${group.genre} / ${group.mood}`);
    for (const unseen of unseenByTier) {
      if (unseen.length === 0) continue;
      const fitted = leastSeenStyle(unseen, styleViews, random);
      pushFitReason(reasons, fitted);
      reasons.push('library frame you have not seen');
      return { frame: fitted.frame, plan: fitted.plan, servedId: fitted.servedId, group, repeated: false, coverage, reasons };
    }
    // Everything was seen: the frame seen longest ago, of the best fit there is.
    const tier = screen.exact.length > 0 ? screen.exact : screen.crop.length > 0 ? screen.crop : screen.fill;
    let oldest = tier[0]!;
    let oldestAt = seen.get(oldest.frame.id) ?? -1;
    for (const fitted of tier) {
      const at = seen.get(fitted.frame.id) ?? -1;
      if (at < oldestAt) {
        oldest = fitted;
        oldestAt = at;
      }
    }
    pushFitReason(reasons, oldest);
    reasons.push('every library frame for this track was seen; repeating the one seen longest ago');
    return { frame: oldest.frame, plan: oldest.plan, servedId: oldest.servedId, group, repeated: true, coverage, reasons };
  }
}

/** An unseen frame of the style seen least (ties broken at random). */
function leastSeenStyle(unseen: readonly Fitted[], styleViews: ReadonlyMap<string, number>, random: () => number): Fitted {
  let fewest = Number.POSITIVE_INFINITY;
  let candidates: Fitted[] = [];
  for (const fitted of unseen) {
    const views = styleViews.get(fitted.frame.style) ?? 0;
    if (views < fewest) {
      fewest = views;
      candidates = [fitted];
    } else if (views === fewest) {
      candidates.push(fitted);
    }
  }
  return candidates[Math.floor(random() * candidates.length) % candidates.length]!;
}

/** Says how an adapted frame fits the screen (an exact fit says nothing). */
function pushFitReason(reasons: string[], fitted: Fitted): void {
  if (fitted.plan.fit === 'crop') reasons.push(fitReasonTexts.crop[fitted.frame.orientation]);
  else if (fitted.plan.fit === 'fill') reasons.push(fitReasonTexts.fill[fitted.frame.orientation]);
}

const fitReasonTexts = {
  crop: Object.fromEntries(orientations.map((from) => [from, `cropped from a ${from} frame around its subject`])) as Record<Orientation, string>,
  fill: Object.fromEntries(orientations.map((from) => [from, `a ${from} frame fitted with colours from its own palette`])) as Record<Orientation, string>,
};

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
