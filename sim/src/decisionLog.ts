/**
 * The decisions a bandit-experiment run logs for offline evaluation, kept in columns (a million
 * decisions is ~30 MB here, ~100 MB as objects) and turned into `LoggedDecision`s only when they
 * are evaluated. Bounded: the log refuses to grow past `limits.loggedDecisionsMax`; the
 * experiment keeps a uniform sample of decisions to stay under it.
 */
import type { LoggedDecision } from '../../server/src/bandit/ope.js';
import { segmentNames } from './audience.js';
import { limits } from './limits.js';

export type DecisionLog = {
  length: number;
  segment: Uint8Array;
  fresh: Uint8Array;
  eligible: Uint8Array;
  reward: Uint8Array;
  charged: Uint8Array;
  pFresh: Float64Array;
  multiplier: Float64Array;
  pMax: Float32Array;
  /** The library reward probability of the decision's segment (known in the simulator only). */
  libraryReward: Float64Array;
};

const initialCapacity = 1 << 16;

export function emptyDecisionLog(capacity = initialCapacity): DecisionLog {
  return {
    length: 0,
    segment: new Uint8Array(capacity), fresh: new Uint8Array(capacity), eligible: new Uint8Array(capacity), reward: new Uint8Array(capacity),
    charged: new Uint8Array(capacity), pFresh: new Float64Array(capacity), multiplier: new Float64Array(capacity), pMax: new Float32Array(capacity),
    libraryReward: new Float64Array(capacity),
  };
}

function grown<Column extends Uint8Array | Float64Array | Float32Array>(column: Column, capacity: number, make: (size: number) => Column): Column {
  const bigger = make(capacity);
  bigger.set(column);
  return bigger;
}

function grow(log: DecisionLog): void {
  const capacity = Math.min(limits.loggedDecisionsMax, log.segment.length * 2);
  if (capacity <= log.length) throw new RangeError(`the decision log is full (${limits.loggedDecisionsMax} decisions): log a smaller sample`);
  const bytes = (size: number) => new Uint8Array(size);
  log.segment = grown(log.segment, capacity, bytes);
  log.fresh = grown(log.fresh, capacity, bytes);
  log.eligible = grown(log.eligible, capacity, bytes);
  log.reward = grown(log.reward, capacity, bytes);
  log.charged = grown(log.charged, capacity, bytes);
  log.pFresh = grown(log.pFresh, capacity, (size) => new Float64Array(size));
  log.multiplier = grown(log.multiplier, capacity, (size) => new Float64Array(size));
  log.pMax = grown(log.pMax, capacity, (size) => new Float32Array(size));
  log.libraryReward = grown(log.libraryReward, capacity, (size) => new Float64Array(size));
}

export type LogEntry = { segment: number; fresh: boolean; pFresh: number; multiplier: number; eligible: boolean; reward: number; charged: number; pMax: number; libraryReward: number };

export function appendDecision(log: DecisionLog, entry: LogEntry): void {
  if (log.length === log.segment.length) grow(log);
  const at = log.length;
  log.segment[at] = entry.segment;
  log.fresh[at] = entry.fresh ? 1 : 0;
  log.eligible[at] = entry.eligible ? 1 : 0;
  log.reward[at] = entry.reward;
  log.charged[at] = entry.charged;
  log.pFresh[at] = entry.pFresh;
  log.multiplier[at] = entry.multiplier;
  log.pMax[at] = entry.pMax;
  log.libraryReward[at] = entry.libraryReward;
  log.length = at + 1;
}

/** The log as the server's offline evaluation reads it. */
export function loggedDecisionsOf(log: DecisionLog): LoggedDecision[] {
  return Array.from({ length: log.length }, (_, at) => ({
    segment: segmentNames[log.segment[at]!]!,
    arm: log.fresh[at] === 1 ? 'fresh' : 'library',
    pFresh: log.pFresh[at]!,
    multiplier: log.multiplier[at]!,
    eligible: log.eligible[at] === 1,
    reward: log.reward[at]!,
    charged: log.charged[at]!,
    pMax: log.pMax[at]!,
  }));
}

/** The mean library reward probability of the logged decisions: their reward had all been library. */
export function libraryBaselineOf(log: DecisionLog): number {
  let sum = 0;
  for (let at = 0; at < log.length; at += 1) sum += log.libraryReward[at]!;
  return log.length === 0 ? 0 : sum / log.length;
}

/** Fresh frames shown over Σ pFresh on the eligible decisions: how well p predicts fresh frames. */
export function freshPerLoggedPOf(log: DecisionLog): number {
  let fresh = 0;
  let expected = 0;
  for (let at = 0; at < log.length; at += 1) {
    if (log.eligible[at] !== 1) continue;
    fresh += log.fresh[at]!;
    expected += log.pFresh[at]!;
  }
  return expected === 0 ? 1 : fresh / expected;
}
