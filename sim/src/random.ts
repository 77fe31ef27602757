/**
 * Random streams. Every simulated user owns two independent streams derived from (seed, user):
 *
 *   behaviour  when they play, for how long, their contexts, likes and failed generations;
 *   decision   the `random` input of `titrate` and each session's dither phase.
 *
 * Behaviour never reads the decision stream and draws the same numbers whatever was decided, so
 * every policy sees exactly the same users doing exactly the same things (common random numbers):
 * differences between policies are the policies', not the dice's.
 *
 * The generator is pure-rand's xoroshiro128+ (fast, 128 bits of state). Its plain integer seeding
 * puts neighbouring seeds into neighbouring states, so the four state words are instead hashed
 * from (seed, user, stream, word) with a 32-bit finaliser; users and streams then start far apart.
 */
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

export type Stream = RandomGenerator;

/**
 * The bandit experiment (bandit.ts) adds streams of its own rather than drawing more from these
 * two, so the plain simulator's draws, and so its reports, are the same with or without it:
 *   taste       each session's genre and mood and each frame's reward uniform (behaviour-like:
 *               drawn in the same order whatever was decided);
 *   preference  the hidden reward rates of every segment (one stream per run, user 0);
 *   bandit      the bandit's own draws (ε-greedy's coin, Thompson's samples);
 *   sample      which decisions go into the log kept for offline evaluation.
 */
const streamKinds = { behaviour: 1, decision: 2, taste: 3, preference: 4, bandit: 5, sample: 6 } as const;
export type StreamKind = keyof typeof streamKinds;

/** The 32-bit finaliser of MurmurHash3: every input bit flips about half the output bits. */
function mix(value: number): number {
  let hash = value | 0;
  hash = Math.imul(hash ^ (hash >>> 16), 0x85eb_ca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2_ae35);
  return hash ^ (hash >>> 16);
}

function stateWord(seed: number, user: number, kind: number, word: number): number {
  return mix(mix(mix(mix(seed) ^ user) ^ kind) ^ word);
}

export function streamOf(seed: number, user: number, kind: StreamKind): Stream {
  const code = streamKinds[kind];
  const state = [0, 1, 2, 3].map((word) => stateWord(seed, user, code, word));
  // An all-zero state would emit zeros for ever; the hash makes it vanishingly unlikely, not impossible.
  const allZero = state.every((word) => word === 0);
  return xoroshiro128plusFromState(allZero ? [1, 0, 0, 0] : state);
}

const twoToThe32 = 4_294_967_296;

/** A uniform draw in [0, 1) with 32 bits of resolution (one step of the generator). */
export function uniform(stream: Stream): number {
  return (stream.next() >>> 0) / twoToThe32;
}

export function between(stream: Stream, low: number, high: number): number {
  return low + (high - low) * uniform(stream);
}

/** A uniform integer in [low, high], both included. */
export function integerBetween(stream: Stream, low: number, high: number): number {
  return low + Math.floor((high - low + 1) * uniform(stream));
}

export function chance(stream: Stream, probability: number): boolean {
  return uniform(stream) < probability;
}

/** A standard normal draw (Box–Muller; the second value is dropped to keep streams simple). */
export function normal(stream: Stream): number {
  const radius = Math.sqrt(-2 * Math.log(1 - uniform(stream)));
  return radius * Math.cos(2 * Math.PI * uniform(stream));
}

/**
 * A log-normal draw with the given mean and coefficient of variation: σ² = ln(1 + cv²) and
 * μ = ln(mean) − σ²/2, so that E[X] = mean and sd(X) / E[X] = cv.
 */
export function lognormal(stream: Stream, mean: number, coefficientOfVariation: number): number {
  const variance = Math.log(1 + coefficientOfVariation * coefficientOfVariation);
  return Math.exp(Math.log(mean) - variance / 2 + Math.sqrt(variance) * normal(stream));
}

/** One of `choices` with probability proportional to its weight. */
export function weighted<Choice>(stream: Stream, choices: ReadonlyArray<readonly [Choice, number]>): Choice {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let point = uniform(stream) * total;
  for (const [choice, weight] of choices) {
    point -= weight;
    if (point < 0) return choice;
  }
  return choices[choices.length - 1]![0];
}
