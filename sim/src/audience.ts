/**
 * The audience of the bandit experiment: what each session plays (its segment) and how much the
 * audience of each segment likes a fresh frame and a library frame (the hidden preferences the
 * bandit has to find).
 *
 * Segments are tier × genre × mood, with the server's demo genres (6) and moods (5): 60 in all.
 * Each user has 1–3 favourite genres (weight 2–4 each; every other genre 0–0.5), and each session
 * either keeps the previous session's genre and mood (listeners 60% of the time; DJs 20%: a set
 * moves through styles) or draws a genre by those weights and a mood uniformly. So a daily
 * listener plays a handful of segments over a month, a DJ dozens in a day.
 *
 * Hidden preferences, per segment, from the run's seed: the library frame's reward probability
 * is uniform in 0.25..0.5 (how often a frame is watched ≥ 10 s or liked), and fresh's lift over it
 * uniform in −0.05..+0.35, so fresh is a little worse than library in one segment in eight and up
 * to 35 points better elsewhere (mean +0.15). Nothing else depends on the segment: the controller
 * sees the same budget, clock and demand whatever is playing.
 *
 * Everything is drawn from the user's `taste` stream (random.ts), three draws per session and one
 * per frame whatever was decided, so every policy meets the same sessions with the same luck.
 */
import { demoGenres, demoMoods } from '../../server/src/pantry/art.js';
import { tierNames, type UserPlan } from './population.js';
import { between, integerBetween, streamOf, uniform, weighted, type Stream } from './random.js';

export const genres = demoGenres;
export const moods = demoMoods;
export const segmentCount = tierNames.length * genres.length * moods.length;

/** The hidden preferences' distribution and the habits of choosing what to play. */
export const audienceRates = {
  libraryRewardMin: 0.25,
  libraryRewardMax: 0.5,
  freshLiftMin: -0.05,
  freshLiftMax: 0.35,
  favouriteGenresMin: 1,
  favouriteGenresMax: 3,
  favouriteWeightMin: 2,
  favouriteWeightMax: 4,
  otherWeightMax: 0.5,
  /** A session keeps the previous session's genre and mood this often. */
  stayShare: 0.6,
  stayShareDj: 0.2,
} as const;

/** `${tier}|${genre}|${mood}` of segment `index` (tier-major, then genre, then mood). */
export function segmentName(index: number): string {
  const mood = index % moods.length;
  const genre = Math.floor(index / moods.length) % genres.length;
  const tier = Math.floor(index / (moods.length * genres.length));
  return `${tierNames[tier]}|${genres[genre]}|${moods[mood]}`;
}

export const segmentNames: readonly string[] = Array.from({ length: segmentCount }, (_, index) => segmentName(index));

/** Reward probabilities per segment index: what a shown library or fresh frame earns. */
export type Preferences = { library: Float64Array; fresh: Float64Array };

/** The hidden preferences of the run with `seed`: the same for every policy and every thread. */
export function preferencesOf(seed: number): Preferences {
  const stream = streamOf(seed, 0, 'preference');
  const library = new Float64Array(segmentCount);
  const fresh = new Float64Array(segmentCount);
  for (let segment = 0; segment < segmentCount; segment += 1) {
    library[segment] = between(stream, audienceRates.libraryRewardMin, audienceRates.libraryRewardMax);
    fresh[segment] = library[segment]! + between(stream, audienceRates.freshLiftMin, audienceRates.freshLiftMax);
  }
  return { library, fresh };
}

/** One user's habits of choosing what to play, and their taste stream. */
export type Taste = {
  genreWeights: ReadonlyArray<readonly [number, number]>;
  stayShare: number;
  tierOffset: number;
  /** The segment now playing (null before the first session). */
  segment: number | null;
  stream: Stream;
};

export function tasteOf(seed: number, plan: UserPlan): Taste {
  const stream = streamOf(seed, plan.index, 'taste');
  const favourites = integerBetween(stream, audienceRates.favouriteGenresMin, audienceRates.favouriteGenresMax);
  const order = genres.map((_, genre) => ({ genre, key: uniform(stream) })).sort((left, right) => left.key - right.key);
  const weights = genres.map(() => 0);
  order.forEach(({ genre }, rank) => {
    weights[genre] = rank < favourites ? between(stream, audienceRates.favouriteWeightMin, audienceRates.favouriteWeightMax) : between(stream, 0, audienceRates.otherWeightMax);
  });
  return {
    genreWeights: weights.map((weight, genre) => [genre, weight] as const),
    stayShare: plan.archetype === 'dj' ? audienceRates.stayShareDj : audienceRates.stayShare,
    tierOffset: tierNames.indexOf(plan.tier) * genres.length * moods.length,
    segment: null,
    stream,
  };
}

/** The segment of the session starting now: three draws, whether it stays or moves. */
export function nextSegment(taste: Taste): number {
  const stays = uniform(taste.stream) < taste.stayShare;
  const genre = weighted(taste.stream, taste.genreWeights);
  const mood = Math.floor(uniform(taste.stream) * moods.length);
  if (!(stays && taste.segment !== null)) taste.segment = taste.tierOffset + genre * moods.length + mood;
  return taste.segment;
}

/** The frame's reward uniform: reward = u < P(segment, arm shown), the same u whichever arm. */
export const rewardDraw = (taste: Taste): number => uniform(taste.stream);
