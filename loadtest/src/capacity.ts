/**
 * How many DJ sessions one node holds: the DJ workload run in steps of more users, each step
 * judged against a service level, until one breaks; then a few steps between the last that held
 * and the first that broke. The answer is the largest step that held, with the figures of every
 * step next to it, so an operator sees both the number and how the node degrades past it.
 *
 * A step holds when every request was answered, nothing failed (no error answers, no beacon or
 * burst refused for the server's own reasons, no refused connections, no socket closed by the
 * server), and the p99 of library frames — what the show
 * waits for — is within the level. Fresh frames are not in the level: past what the renderer
 * makes, a session gets a library frame at once and its fresh one later (`congested`), which is
 * the show going on, not stalling. The search and the verdict are pure; `runCapacity` runs them.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '@titrate/shared';
import { withinBucket, type PhaseResult } from './scenarios.js';

/**
 * The answers to a beacon or a burst that say the server could not do it (an error answer to a
 * `next` always counts); the rest (a late beacon, credits that do not cover a burst) are the
 * workload's, not the node's.
 */
export const failedAckCodes: readonly string[] = [ErrorCode.internal, ErrorCode.overloaded, ErrorCode.rateLimited];

export type CapacityLevel = {
  /** The library frames' p99 at most this (ms). */
  libraryP99MsMax: number;
};

export type CapacitySearch = {
  /** Users of the first step (each with three devices, as in the DJ scenario). */
  startUsers: number;
  /** No step has more users than this. */
  maxUsers: number;
  /** Steps between the last that held and the first that broke, once one broke. */
  refinements: number;
};

export type CapacityStepSummary = {
  users: number;
  sessions: number;
  held: boolean;
  /** Why it did not hold (empty when it held). */
  problems: string[];
  unanswered: number;
  decisionsPerSecond: number;
  library: { p50Ms: number; p99Ms: number; maxMs: number };
  freshFrames: number;
  /** Share of decisions answered from the library because the renderer was busy. */
  congestedShare: number;
  cpuCoresUsed: number;
  residentBytes: number;
  serverDecision: PhaseResult['serverDecision'];
  serverPoolWait: PhaseResult['serverPoolWait'];
};

export type CapacityResult = {
  level: CapacityLevel;
  provider: string;
  secondsPerStep: number;
  steps: CapacityStepSummary[];
  /** The largest step that held (null when even the first broke). */
  holds: { users: number; sessions: number; decisionsPerSecond: number } | null;
  /** The smallest step that broke (null when none did up to the search's ceiling). */
  breaks: { users: number; sessions: number; problems: string[] } | null;
};

/** Why a step does not hold at `level` (empty when it holds). */
export function stepProblems(step: PhaseResult, level: CapacityLevel): string[] {
  const problems: string[] = [];
  if (step.unanswered > 0) problems.push(`${step.unanswered} requests unanswered`);
  if (step.latency.library.count === 0) problems.push('no library frame was answered');
  else if (step.latency.library.p99Ms > level.libraryP99MsMax) problems.push(`library p99 ${round(step.latency.library.p99Ms)} ms over ${level.libraryP99MsMax} ms`);
  const tally = (label: string, counts: Record<string, number>) => {
    const entries = Object.entries(counts).filter(([, count]) => count > 0);
    if (entries.length > 0) problems.push(`${label}: ${entries.map(([code, count]) => `${code} ×${count}`).join(', ')}`);
  };
  tally('errors', step.errors);
  const failed = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([code]) => failedAckCodes.includes(code)));
  tally('beacons refused', failed(step.beacons.refused));
  tally('bursts refused', failed(step.bursts.refused));
  tally('connections refused', step.connectRefused);
  tally('sockets closed by the server', step.unexpectedCloses);
  return problems;
}

/**
 * The users of the next step, or null when the search is done. Until a step breaks, each step
 * doubles the last (up to `maxUsers`); after one breaks, each step halves the gap between the
 * largest that held and the smallest that broke, `refinements` times, or until the gap is a user.
 */
export function nextStepUsers(steps: ReadonlyArray<{ users: number; held: boolean }>, search: CapacitySearch): number | null {
  assertSearch(search);
  if (steps.length === 0) return Math.min(search.startUsers, search.maxUsers);
  const held = steps.filter((step) => step.held).map((step) => step.users);
  const broke = steps.filter((step) => !step.held).map((step) => step.users);
  const largestHeld = held.length === 0 ? 0 : Math.max(...held);
  if (broke.length === 0) {
    if (largestHeld >= search.maxUsers) return null;
    return Math.min(largestHeld * 2, search.maxUsers);
  }
  const smallestBroke = Math.min(...broke);
  const firstBreak = steps.findIndex((step) => !step.held);
  const refined = steps.length - 1 - firstBreak;
  if (refined >= search.refinements || smallestBroke - largestHeld <= 1) return null;
  return Math.floor((largestHeld + smallestBroke) / 2);
}

/** The summary of one step's phase. */
export function summariseStep(users: number, step: PhaseResult, level: CapacityLevel): CapacityStepSummary {
  const problems = stepProblems(step, level);
  const decisions = step.frames.library + step.frames.fresh;
  return {
    users,
    sessions: step.sessions,
    held: problems.length === 0,
    problems,
    unanswered: step.unanswered,
    decisionsPerSecond: step.decisionsPerSecond,
    library: { p50Ms: step.latency.library.p50Ms, p99Ms: step.latency.library.p99Ms, maxMs: step.latency.library.maxMs },
    freshFrames: step.frames.fresh,
    congestedShare: decisions === 0 ? 0 : round((step.fallbacks['congested'] ?? 0) / decisions),
    cpuCoresUsed: step.cpuCoresUsed,
    residentBytes: step.residentBytes,
    serverDecision: step.serverDecision,
    serverPoolWait: step.serverPoolWait,
  };
}

/** The search's answer from its steps. */
export function capacityOf(steps: CapacityStepSummary[]): Pick<CapacityResult, 'holds' | 'breaks'> {
  const held = steps.filter((step) => step.held).sort((a, b) => b.users - a.users)[0];
  const broke = steps.filter((step) => !step.held).sort((a, b) => a.users - b.users)[0];
  return {
    holds: held === undefined ? null : { users: held.users, sessions: held.sessions, decisionsPerSecond: held.decisionsPerSecond },
    breaks: broke === undefined ? null : { users: broke.users, sessions: broke.sessions, problems: broke.problems },
  };
}

/**
 * Runs the search: `runStep(users, index)` runs one step of the DJ workload and returns its phase
 * (the caller makes the users, connects them, measures and lets the node go quiet after).
 */
export async function searchCapacity(
  search: CapacitySearch, level: CapacityLevel, runStep: (users: number, index: number) => Promise<PhaseResult>, log: (line: string) => void,
): Promise<CapacityStepSummary[]> {
  const steps: CapacityStepSummary[] = [];
  for (let users = nextStepUsers(steps, search); users !== null; users = nextStepUsers(steps, search)) {
    const summary = summariseStep(users, await runStep(users, steps.length), level);
    steps.push(summary);
    log(`capacity: ${summary.sessions} sessions (${users} users) ${summary.held ? 'held' : `broke: ${summary.problems.join('; ')}`}; `
      + `${summary.decisionsPerSecond} decisions/s, library p50 ${summary.library.p50Ms} / p99 ${summary.library.p99Ms} ms, ${summary.cpuCoresUsed} cores`
      + (summary.serverPoolWait === null ? '' : `, pool wait p99 ${withinBucket(summary.serverPoolWait.p99AtMostMs, summary.serverPoolWait.p99AboveMs)} ms`));
  }
  return steps;
}

function assertSearch(search: CapacitySearch): void {
  assert.ok(Number.isInteger(search.startUsers) && search.startUsers >= 1, `startUsers ${search.startUsers} is not a whole number of users`);
  assert.ok(Number.isInteger(search.maxUsers) && search.maxUsers >= 1, `maxUsers ${search.maxUsers} is not a whole number of users`);
  assert.ok(Number.isInteger(search.refinements) && search.refinements >= 0, `refinements ${search.refinements} is not a count`);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
