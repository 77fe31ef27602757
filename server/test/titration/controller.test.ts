/**
 * The titration controller's behaviour and invariants (pure: no I/O, milliseconds).
 */
import fc from 'fast-check';
import t from 'tap';
import { defaultSettings, newSessionPacing, sessionCap, titrate, explain, type TitrationInput } from '../../src/titration/controller.js';
import { defaultPrior, demandOf, emptyDay, type DayCounts } from '../../src/titration/forecast.js';
import { dither, holdLevel, newHold } from '../../src/titration/hysteresis.js';
import { defaultPace, newPolicyMemory, pacePolicy, policyNames, seedsPolicy, defaultSeeds } from '../../src/titration/policies.js';

const daily = (frames: number, fresh = 0, credits = 0): DayCounts => ({ frames, fresh, credits, sessions: 1 });

const baseInput = (overrides: Partial<TitrationInput> = {}): TitrationInput => ({
  policy: 'pace',
  available: 400,
  used: 200,
  lengthDays: 30,
  elapsedDays: 10.5,
  dayElapsed: 0.5,
  demand: demandOf(Array.from({ length: 10 }, () => daily(240, 6, 9))),
  today: emptyDay(),
  framesShown: 40,
  conserve: false,
  libraryPenalty: 0,
  orientationScarcity: 0,
  unlimited: false,
  burst: false,
  freshShown: 0,
  frameIntervalMs: 15_000,
  freshCostMin: 1,
  random: 0.5,
  ...overrides,
});

const arbitraryInput = fc.record({
  policy: fc.constantFrom(...policyNames),
  available: fc.integer({ min: 0, max: 5_000 }),
  used: fc.integer({ min: 0, max: 5_000 }),
  lengthDays: fc.constantFrom(28, 29.96, 30, 31),
  elapsedFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  dayElapsed: fc.double({ min: 0, max: 0.999, noNaN: true }),
  history: fc.array(fc.record({ frames: fc.integer({ min: 0, max: 20_000 }), fresh: fc.integer({ min: 0, max: 50 }), credits: fc.integer({ min: 0, max: 100 }), sessions: fc.integer({ min: 0, max: 200 }) }), { maxLength: 28 }),
  todayFrames: fc.integer({ min: 0, max: 20_000 }),
  todayCredits: fc.integer({ min: 0, max: 200 }),
  todaySessions: fc.integer({ min: 0, max: 300 }),
  framesShown: fc.integer({ min: 0, max: 5_000 }),
  conserve: fc.boolean(),
  libraryPenalty: fc.double({ min: 0, max: 1, noNaN: true }),
  orientationScarcity: fc.double({ min: 0, max: 1, noNaN: true }),
  freshShown: fc.integer({ min: 0, max: 500 }),
  frameIntervalMs: fc.option(fc.integer({ min: 100, max: 120_000 })),
  random: fc.double({ min: 0, max: 0.999999, noNaN: true }),
});

type RawInput = typeof arbitraryInput extends fc.Arbitrary<infer T> ? T : never;

const toInput = (raw: RawInput): TitrationInput => ({
  ...baseInput(),
  policy: raw.policy,
  available: raw.available,
  used: raw.used,
  lengthDays: raw.lengthDays,
  elapsedDays: raw.lengthDays * raw.elapsedFraction,
  dayElapsed: raw.dayElapsed,
  demand: demandOf(raw.history),
  today: { frames: raw.todayFrames, fresh: 0, credits: raw.todayCredits, sessions: raw.todaySessions },
  framesShown: raw.framesShown,
  conserve: raw.conserve,
  libraryPenalty: raw.libraryPenalty,
  orientationScarcity: raw.orientationScarcity,
  freshShown: raw.freshShown,
  frameIntervalMs: raw.frameIntervalMs,
  random: raw.random,
});

t.test('p is a probability for every policy and every input, and 0 whenever a constraint applies', async (t) => {
  fc.assert(
    fc.property(arbitraryInput, fc.double({ min: 0, max: 0.999, noNaN: true }), (raw, phase) => {
      const result = titrate(toInput(raw), newSessionPacing(phase));
      if (!(result.p >= 0 && result.p <= 1)) return false;
      if (result.constraint !== null && (result.fresh || result.p !== 0)) return false;
      return !result.fresh || result.p > 0;
    }),
    { numRuns: 3_000 },
  );
  t.pass('holds for every generated case');
});

t.test('p never falls when the surplus grows (more credits left, all else equal)', async (t) => {
  for (const policy of policyNames) {
    fc.assert(
      fc.property(arbitraryInput, fc.integer({ min: 1, max: 500 }), (raw, more) => {
        const input = { ...toInput(raw), policy, used: raw.used + raw.available };
        // Same budget, more of it left: a higher surplus.
        const poorer = pacePolicyOf(input, input.available);
        const richer = pacePolicyOf({ ...input, used: input.used - Math.min(more, input.used) }, input.available + Math.min(more, input.used));
        return richer >= poorer - 1e-12;
      }),
      { numRuns: 1_000 },
    );
    t.pass(`${policy} is monotone in the surplus`);
  }
});

/** The policy's p (before hysteresis and constraints) at a given available balance. */
function pacePolicyOf(input: TitrationInput, available: number): number {
  const result = titrate({ ...input, available, freshCostMin: 0, freshShown: 0 }, newSessionPacing(0));
  return result.factors === null ? 1 : result.constraint === 'allowance_spent' ? 0 : result.p;
}

t.test('a session never takes more fresh frames than its cap, nor any it cannot pay for', async (t) => {
  fc.assert(
    fc.property(arbitraryInput, fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 2 }), (raw, frames, cost) => {
      const input = toInput(raw);
      let pacing = newSessionPacing(raw.random);
      let available = input.available;
      let freshShown = 0;
      for (let frame = 0; frame < frames; frame += 1) {
        const result = titrate({ ...input, available, freshShown, framesShown: frame, freshCostMin: cost }, pacing);
        pacing = result.state;
        if (!result.fresh) continue;
        if (available < cost || freshShown >= sessionCap(available, defaultSettings)) return false;
        available -= cost;
        freshShown += 1;
      }
      return true;
    }),
    { numRuns: 500 },
  );
  t.pass('holds for every generated case');
});

t.test('the held level moves at most once per holdFrames frames unless p jumps by more than deltaP', async (t) => {
  const { deltaP, holdFrames } = defaultSettings.hysteresis;
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 300 }), (series) => {
      let hold = newHold(0);
      let lastMove = -Infinity;
      let level: number | null = null;
      for (const [index, p] of series.entries()) {
        const next = holdLevel(hold, p, { deltaP, holdFrames });
        if (next.moved && level !== null) {
          const bigJump = Math.abs(p - level) > deltaP;
          if (!bigJump && index - lastMove < holdFrames) return false;
        }
        if (next.moved) {
          lastMove = index;
          level = next.level;
        }
        if (!next.moved && next.level !== level) return false;
        hold = next.hold;
      }
      return true;
    }),
    { numRuns: 2_000 },
  );
  t.pass('holds for every generated case');
});

t.test('dithering gives within one of n·p fresh frames, evenly spaced', async (t) => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 0.999, noNaN: true }), fc.integer({ min: 1, max: 2_000 }), (p, phase, frames) => {
      let hold = newHold(phase);
      let fresh = 0;
      for (let index = 0; index < frames; index += 1) {
        const result = dither(hold, p);
        hold = result.hold;
        if (result.fresh) fresh += 1;
      }
      return Math.abs(fresh - frames * p) <= 1 + 1e-9;
    }),
  );
  t.pass('holds for every generated case');
});

t.test('conserve halves p (and forgoes catching up on a surplus)', async (t) => {
  const behind = baseInput({ available: 300, used: 300, elapsedDays: 12 });
  const normal = pacePolicy(behind, defaultPace, newPolicyMemory());
  const saving = pacePolicy({ ...behind, conserve: true }, defaultPace, newPolicyMemory());
  t.ok(normal.factors.surplus < 0, 'a user below the even-burn line');
  t.equal(saving.p, normal.p / 2, 'exactly half when there is no surplus to forgo');
  const ahead = baseInput({ available: 550, used: 50, elapsedDays: 12 });
  const aheadNormal = pacePolicy(ahead, defaultPace, newPolicyMemory());
  const aheadSaving = pacePolicy({ ...ahead, conserve: true }, defaultPace, newPolicyMemory());
  t.ok(aheadNormal.factors.surplus > 0);
  t.ok(aheadSaving.p < aheadNormal.p / 2, 'at most half when a surplus is kept for later');
  fc.assert(
    fc.property(arbitraryInput, (raw) => {
      const input = { ...toInput(raw), policy: 'pace' as const, conserve: false };
      const on = pacePolicy({ ...input, conserve: true }, defaultPace, newPolicyMemory()).p;
      const off = pacePolicy(input, defaultPace, newPolicyMemory()).p;
      return on <= off / 2 + 1e-12;
    }),
  );
});

t.test('conserve halves p even where the multipliers alone would push it past its bound', async (t) => {
  // Early in a session, on a thin library, a user of short days with credits to spare: base × multipliers > 1.
  const shortDays = demandOf(Array.from({ length: 10 }, () => daily(10, 2, 3)));
  const eager = baseInput({ available: 1_000, used: 0, elapsedDays: 0, dayElapsed: 0, demand: shortDays, framesShown: 0, libraryPenalty: 1 });
  const normal = pacePolicy(eager, defaultPace, newPolicyMemory());
  const saving = pacePolicy({ ...eager, conserve: true }, defaultPace, newPolicyMemory());
  t.ok(normal.factors.base * normal.factors.early * normal.factors.library > 1, 'the multipliers saturate p');
  t.equal(normal.p, 1);
  t.equal(saving.p, 0.5, 'conserve still halves it');
});

t.test('unlimited and burst bypass titration: always fresh at p = 1, never capped', async (t) => {
  fc.assert(
    fc.property(arbitraryInput, fc.boolean(), (raw, unlimited) => {
      const result = titrate({ ...toInput(raw), unlimited, burst: !unlimited, available: 0 }, newSessionPacing(0));
      return result.fresh && result.p === 1 && result.constraint === null && result.mode === (unlimited ? 'unlimited' : 'burst');
    }),
  );
  t.same(explain(titrate(baseInput({ unlimited: true }), newSessionPacing(0))), ['unlimited plan: always fresh, never charged']);
});

t.test("a heavy day never spends more than the day's allowance and one frame", async (t) => {
  // A DJ on a basic plan whose forecast still believes in a light listener.
  const input = baseInput({ available: 200, used: 0, elapsedDays: 0.2, dayElapsed: 0.2, demand: demandOf([]), frameIntervalMs: 2_000 });
  let pacing = newSessionPacing(0.3);
  let today = emptyDay();
  let allowance = 0;
  for (let frame = 0; frame < 10_000; frame += 1) {
    const result = titrate({ ...input, available: 200 - today.credits, used: today.credits, today, framesShown: frame % 40, freshShown: 0 }, pacing);
    pacing = result.state;
    allowance = result.factors!.allowance;
    today = { ...today, frames: today.frames + 1, fresh: today.fresh + (result.fresh ? 1 : 0), credits: today.credits + (result.fresh ? 2 : 0) };
  }
  t.ok(today.credits <= allowance + 2, `spent ${today.credits} of an allowance of ${allowance.toFixed(1)}`);
  t.ok(today.credits >= allowance - 2, 'and spends it');
  t.ok(allowance < 200 / 30 / defaultPrior.activeShare + 1, 'the allowance is about a day of plan');
});

t.test('on the last day the whole balance may be spent, never before it', async (t) => {
  const early = pacePolicy(baseInput({ available: 100, used: 500, elapsedDays: 26, dayElapsed: 0 }), defaultPace, newPolicyMemory());
  t.ok(early.factors.allowance < 100, `four days left: allowance ${early.factors.allowance.toFixed(1)} keeps a reserve`);
  const last = pacePolicy(baseInput({ available: 100, used: 500, elapsedDays: 29.1, dayElapsed: 0.1, demand: demandOf([daily(240, 0, 0)]) }), defaultPace, newPolicyMemory());
  t.ok(last.factors.allowance >= 100, 'the last day may take everything left');
});

t.test('a surplus raises the allowance and a deficit lowers it', async (t) => {
  const onLine = pacePolicy(baseInput({ available: 400, used: 200, elapsedDays: 10 }), defaultPace, newPolicyMemory());
  const ahead = pacePolicy(baseInput({ available: 500, used: 100, elapsedDays: 10 }), defaultPace, newPolicyMemory());
  const behind = pacePolicy(baseInput({ available: 300, used: 300, elapsedDays: 10 }), defaultPace, newPolicyMemory());
  t.ok(ahead.factors.allowance > onLine.factors.allowance && onLine.factors.allowance > behind.factors.allowance);
});

t.test('the literal baseline reproduces its flaws: the surplus is never positive and p never drops below the floor before multipliers', async (t) => {
  fc.assert(
    fc.property(arbitraryInput, (raw) => {
      const result = seedsPolicy(toInput(raw), defaultSeeds, newPolicyMemory());
      return result.factors.surplus <= 1e-9 && result.factors.base >= defaultSeeds.floor && result.factors.base <= defaultSeeds.ceil;
    }),
  );
  const rich = seedsPolicy(baseInput({ available: 550, used: 50 }), defaultSeeds, newPolicyMemory());
  t.ok(rich.factors.base < 0.5, 'even a rich user is treated as behind');
});

t.test('orientation scarcity raises p in the default policy (and lowers it in the literal one)', async (t) => {
  const plain = baseInput();
  const scarce = baseInput({ orientationScarcity: 1 });
  t.ok(pacePolicy(scarce, defaultPace, newPolicyMemory()).p > pacePolicy(plain, defaultPace, newPolicyMemory()).p);
  t.ok(seedsPolicy(scarce, defaultSeeds, newPolicyMemory()).p < seedsPolicy(plain, defaultSeeds, newPolicyMemory()).p);
});

t.test('a high-velocity session is capped at 50% fresh', async (t) => {
  const rich = baseInput({ available: 5_000, used: 0, demand: demandOf([daily(10)]), frameIntervalMs: 2_000 });
  const result = titrate(rich, newSessionPacing(0));
  t.ok(result.highVelocity);
  t.ok(result.p <= 0.5);
  const manySessions = titrate({ ...rich, frameIntervalMs: 20_000, today: { ...emptyDay(), sessions: 120 } }, newSessionPacing(0));
  t.ok(manySessions.highVelocity, 'a hundred sessions a day is high-velocity too');
});

t.test('every decision explains itself', async (t) => {
  const result = titrate(baseInput({ conserve: true, libraryPenalty: 1 }), newSessionPacing(0.99));
  const reasons = explain(result);
  t.match(reasons.join(' | '), /allowance .* conserve mode: ×0\.5/);
  t.match(reasons.join(' | '), /thin library/);
});

t.test('demand starts from the prior and learns a user from their days', async (t) => {
  t.same(demandOf([]), { ...demandOf([]), activeShare: defaultPrior.activeShare, framesPerActiveDay: defaultPrior.framesPerActiveDay, observedDays: 0 });
  const regular = demandOf(Array.from({ length: 14 }, () => daily(600, 10, 12)));
  t.ok(regular.framesPerActiveDay > 500 && regular.activeShare > 0.9, 'a daily viewer of 600 frames');
  t.ok(Math.abs(regular.creditsPerFresh - 1.2) < 0.1, 'their cost per fresh frame');
  const weekender = demandOf(Array.from({ length: 21 }, (_, day) => (day % 7 >= 5 ? daily(900) : daily(0))));
  t.ok(weekender.activeShare < 0.45, `plays ${weekender.activeShare.toFixed(2)} of days`);
  const newcomer = demandOf([daily(0), daily(0), daily(0), daily(300)]);
  t.equal(newcomer.observedDays, 1, 'days before the first active one do not count');
});

t.test("every newcomer's demand is one frozen value, the same as a custom prior equal to the default gives", async (t) => {
  const fresh = demandOf([]);
  t.equal(demandOf([daily(0), daily(0)]), fresh, 'idle days only: still a newcomer, and the same object');
  t.ok(Object.isFrozen(fresh));
  t.same(demandOf([], { ...defaultPrior }), fresh, 'a copy of the prior computes the same figures');
  t.not(demandOf([], { ...defaultPrior }), fresh, 'a prior of its own gets a demand of its own');
  t.not(demandOf([daily(10)]), fresh, 'one active day makes a demand of its own');
});
