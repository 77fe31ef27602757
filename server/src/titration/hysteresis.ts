/**
 * Hysteresis and dithering: how a probability becomes a sequence of fresh and library frames.
 *
 * The controller recomputes p on every frame, and p moves a little with every credit spent. If the
 * player's visible mix followed every wobble it would flicker, so the session *holds* a level and
 * moves it only when the new p differs by more than `deltaP`, or after `holdFrames` frames.
 * Constraints (no credits, a cap reached, the day's allowance spent) are not preferences: they
 * bypass the held level and force library at once.
 *
 * The held level is then *dithered* rather than drawn at random: an accumulator gains p per
 * frame and emits a fresh frame each time it crosses 1. Over n frames the fresh count is within
 * one of n·p, so fresh frames come evenly spaced (every 1/p frames) instead of in random clumps,
 * and the day-to-day count varies far less than Bernoulli draws would. The accumulator starts at
 * a random phase, so over many short sessions the expected count is still exactly n·p.
 *
 * This state lives in the session's memory; it is rebuilt (a new phase, no held level) after a
 * reconnect, which costs nothing.
 */

export type HysteresisSettings = { deltaP: number; holdFrames: number };

export type Hold = {
  /** The level in force, or null before the first frame. */
  held: number | null;
  /** Frames shown since the level last moved. */
  framesHeld: number;
  /** The dither accumulator, 0 ≤ x < 1 between frames. */
  accumulator: number;
  /** The last decision (the literal baseline keeps it while p is steady). */
  lastFresh: boolean;
};

export const newHold = (phase: number): Hold => ({ held: null, framesHeld: 0, accumulator: phase, lastFresh: false });

/** The level to use for this frame and the hold after it; moves only on a big change or after a while. */
export function holdLevel(hold: Hold, p: number, settings: HysteresisSettings): { level: number; moved: boolean; hold: Hold } {
  const move = hold.held === null || Math.abs(p - hold.held) > settings.deltaP || hold.framesHeld >= settings.holdFrames;
  // Explicit literals rather than spreads: this runs once per frame, millions of times in the simulator.
  if (move) return { level: p, moved: true, hold: { held: p, framesHeld: 1, accumulator: hold.accumulator, lastFresh: hold.lastFresh } };
  return { level: hold.held!, moved: false, hold: { held: hold.held, framesHeld: hold.framesHeld + 1, accumulator: hold.accumulator, lastFresh: hold.lastFresh } };
}

/** One dithered decision at level `p` (0..1). */
export function dither(hold: Hold, p: number): { fresh: boolean; hold: Hold } {
  const accumulator = hold.accumulator + p;
  const fresh = accumulator >= 1;
  return { fresh, hold: { held: hold.held, framesHeld: hold.framesHeld, accumulator: fresh ? accumulator - 1 : accumulator, lastFresh: fresh } };
}
