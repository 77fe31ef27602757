/**
 * The pantry catalog: an in-memory index of library frames by bucket (genre × mood ×
 * orientation), and the pure choice of a library frame for a context.
 *
 * Genre and mood are free strings from music metadata, so a context is first mapped to the
 * closest bucket that has frames for the screen's orientation: the exact bucket, then known
 * aliases ("hip-hop" → hiphop, "sad" → melancholic), then a bucket that suits the track's energy.
 * Within the bucket the choice avoids what the viewer has seen, and among unseen frames prefers
 * the styles seen least, so a long session walks through the variety before repeating anything.
 */
import { orientations, type Context, type Orientation } from '@titrate/shared';
import { limits } from '../limits.js';

export type CatalogFrame = {
  id: string;
  genre: string;
  mood: string;
  style: string;
  orientation: Orientation;
  width: number;
  height: number;
};

export type Bucket = { genre: string; mood: string; orientation: Orientation };
export type BucketMatch = Bucket & { exact: boolean };
export type LibraryPick = { frame: CatalogFrame; bucket: BucketMatch; repeated: boolean; reasons: string[] };

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

const bucketKey = (genre: string, mood: string, orientation: string) => `${genre}|${mood}|${orientation}`;

export class PantryCatalog {
  readonly #buckets = new Map<string, CatalogFrame[]>();
  /** orientation → genre → moods with frames. */
  readonly #index = new Map<Orientation, Map<string, Set<string>>>();
  readonly #ids = new Set<string>();

  get size(): number {
    return this.#ids.size;
  }

  add(frame: CatalogFrame): void {
    if (this.#ids.has(frame.id)) return;
    if (this.#ids.size >= limits.catalogFramesMax) throw new Error(`catalog is full (${limits.catalogFramesMax} frames)`);
    this.#ids.add(frame.id);
    const key = bucketKey(frame.genre, frame.mood, frame.orientation);
    const frames = this.#buckets.get(key) ?? [];
    frames.push(frame);
    this.#buckets.set(key, frames);
    const genres = this.#index.get(frame.orientation) ?? new Map<string, Set<string>>();
    const moods = genres.get(frame.genre) ?? new Set<string>();
    moods.add(frame.mood);
    genres.set(frame.genre, moods);
    this.#index.set(frame.orientation, genres);
  }

  framesIn(bucket: Bucket): readonly CatalogFrame[] {
    return this.#buckets.get(bucketKey(bucket.genre, bucket.mood, bucket.orientation)) ?? [];
  }

  /**
   * How scarce frames for this screen are, 0..1: 1 when the track's own genre and mood have frames
   * only in other orientations (this screen gets a neighbouring bucket), 0 otherwise.
   */
  orientationScarcity(context: Context, orientation: Orientation): number {
    const genre = normaliseLabel(context.genre);
    const mood = normaliseLabel(context.mood);
    if (this.framesIn({ genre, mood, orientation }).length > 0) return 0;
    const elsewhere = orientations.some((other) => other !== orientation && this.framesIn({ genre, mood, orientation: other }).length > 0);
    return elsewhere ? 1 : 0;
  }

  /** The closest bucket with frames for this orientation, or null when the orientation has none. */
  resolve(context: Context, orientation: Orientation): BucketMatch | null {
    const genres = this.#index.get(orientation);
    if (genres === undefined || genres.size === 0) return null;
    const genre = this.#closestGenre(normaliseLabel(context.genre), context.energy, genres);
    const moods = genres.get(genre)!;
    const mood = closestMood(normaliseLabel(context.mood), context.energy, moods);
    const exact = genre === normaliseLabel(context.genre) && mood === normaliseLabel(context.mood);
    return { genre, mood, orientation, exact };
  }

  #closestGenre(wanted: string, energy: number, genres: Map<string, Set<string>>): string {
    if (genres.has(wanted)) return wanted;
    const alias = genreAliases[wanted];
    if (alias !== undefined && genres.has(alias)) return alias;
    const band = energy >= 0.6 ? 'high' : energy <= 0.35 ? 'low' : 'middle';
    const suited = genresByEnergy[band].find((genre) => genres.has(genre));
    return suited ?? [...genres.keys()].sort()[0]!;
  }

  /**
   * Chooses a frame for the context. `seen` lists the frames this viewer saw, oldest first.
   * `random` returns numbers in [0, 1) (injected so that choices are reproducible in tests).
   */
  pick(context: Context, orientation: Orientation, seen: readonly string[], random: () => number): LibraryPick | null {
    const bucket = this.resolve(context, orientation);
    if (bucket === null) return null;
    const frames = this.framesIn(bucket);
    if (frames.length === 0) return null;
    const reasons: string[] = [];
    if (!bucket.exact) reasons.push(`closest library bucket: ${bucket.genre} / ${bucket.mood}`);
    const seenSet = new Set(seen);
    const unseen = frames.filter((frame) => !seenSet.has(frame.id));
    if (unseen.length === 0) {
      // Everything here was seen: show again the one seen longest ago.
      const order = new Map(seen.map((id, index) => [id, index]));
      const oldest = frames.reduce((best, frame) => ((order.get(frame.id) ?? -1) < (order.get(best.id) ?? -1) ? frame : best));
      reasons.push('every library frame for this track was seen; repeating the one seen longest ago');
      return { frame: oldest, bucket, repeated: true, reasons };
    }
    const styleViews = new Map<string, number>();
    for (const frame of frames) if (seenSet.has(frame.id)) styleViews.set(frame.style, (styleViews.get(frame.style) ?? 0) + 1);
    const fewestViews = Math.min(...unseen.map((frame) => styleViews.get(frame.style) ?? 0));
    const preferred = unseen.filter((frame) => (styleViews.get(frame.style) ?? 0) === fewestViews);
    const frame = preferred[Math.floor(random() * preferred.length) % preferred.length]!;
    reasons.push('library frame not seen in this session');
    return { frame, bucket, repeated: false, reasons };
  }
}

function closestMood(wanted: string, energy: number, moods: Set<string>): string {
  if (moods.has(wanted)) return wanted;
  const alias = moodAliases[wanted];
  if (alias !== undefined && moods.has(alias)) return alias;
  const byEnergy = energy >= 0.7 ? ['energetic', 'uplifting'] : energy <= 0.3 ? ['calm', 'melancholic'] : ['uplifting', 'calm'];
  return byEnergy.find((mood) => moods.has(mood)) ?? [...moods].sort()[0]!;
}
