import t from 'tap';
import { capacityOf, nextStepUsers, searchCapacity, stepProblems, summariseStep } from '../src/capacity.js';
import type { PhaseResult } from '../src/scenarios.js';

const level = { libraryP99MsMax: 100 };
const search = { startUsers: 20, maxUsers: 600, refinements: 2 };
const percentiles = (p99Ms: number, count = 1000) => ({ count, p50Ms: p99Ms / 10, p90Ms: p99Ms / 2, p99Ms, maxMs: p99Ms * 2 });

/** A DJ step's phase: `users` × 3 sessions, library p99 as given, nothing wrong unless said. */
function phase(users: number, p99Ms: number, changes: Partial<PhaseResult> = {}): PhaseResult {
  return {
    sessions: users * 3, seconds: 20, decisions: 1000, decisionsPerSecond: 50, latency: { library: percentiles(p99Ms), fresh: percentiles(4000, 50), pending: percentiles(50, 10), all: percentiles(p99Ms) },
    cpuMicrosPerDecision: 900, cpuCoresUsed: 0.9, residentBytes: 300e6, chargedFrames: 50, chargedPerSecond: 2.5, creditsCharged: 100,
    frames: { library: 950, fresh: 50 }, fallbacks: { exact: 700, congested: 200, fill: 50 }, pendings: 10, beacons: { sent: 990, acked: 990, refused: {} },
    bursts: { sent: 1, charged: 1, refused: {} }, errors: {}, connectRefused: {}, unexpectedCloses: {}, sessionsStarted: 10, unanswered: 0,
    warmup: { seconds: 5, settled: null }, serverDecision: { p50AtMostMs: 0.5, p99AboveMs: 2.5, p99AtMostMs: 5 }, serverPoolWait: { acquired: 900, p99AboveMs: 0.5, p99AtMostMs: 1 }, ...changes,
  };
}

t.test('a step holds when everything was answered, nothing failed and the library p99 is within the level', async (t) => {
  t.same(stepProblems(phase(20, 100), level), [], 'exactly at the level holds');
  t.same(stepProblems(phase(20, 100.5), level), ['library p99 100.5 ms over 100 ms']);
  t.same(stepProblems(phase(20, 40, { unanswered: 3 }), level), ['3 requests unanswered']);
  t.same(stepProblems(phase(20, 40, { errors: { rate_limited: 2, internal: 0 } }), level), ['errors: rate_limited ×2'], 'codes counted zero are not problems');
  t.same(stepProblems(phase(20, 40, { connectRefused: { '503': 4 }, unexpectedCloses: { '1011': 1 } }), level), ['connections refused: 503 ×4', 'sockets closed by the server: 1011 ×1']);
  t.same(stepProblems(phase(20, 0, { latency: { ...phase(20, 0).latency, library: percentiles(0, 0) } }), level), ['no library frame was answered'], 'a step that answered nothing is not a pass');
});

t.test("a beacon or a burst refused for the server's own reasons breaks a step; one refused for the workload's does not", async (t) => {
  const refused = phase(20, 40, {
    beacons: { sent: 990, acked: 990, refused: { late_beacon: 4, overloaded: 2 } },
    bursts: { sent: 3, charged: 1, refused: { insufficient_credits: 1, internal: 1 } },
  });
  t.same(stepProblems(refused, level), ['beacons refused: overloaded ×2', 'bursts refused: internal ×1']);
  t.same(stepProblems(phase(20, 40, { beacons: { sent: 9, acked: 9, refused: { late_beacon: 9 } } }), level), []);
});

t.test('fresh frames waiting for the renderer do not break a step: the show goes on with library frames', async (t) => {
  const slowFresh = phase(20, 60, { latency: { ...phase(20, 60).latency, fresh: percentiles(30_000, 80) }, fallbacks: { congested: 900, exact: 100 } });
  t.same(stepProblems(slowFresh, level), []);
  t.equal(summariseStep(20, slowFresh, level).congestedShare, 0.9, 'but the share answered congested is reported');
});

t.test('the search doubles the users until a step breaks, then halves the gap a set number of times', async (t) => {
  t.equal(nextStepUsers([], search), 20);
  t.equal(nextStepUsers([{ users: 20, held: true }], search), 40);
  t.equal(nextStepUsers([{ users: 20, held: true }, { users: 40, held: true }, { users: 80, held: true }], search), 160);
  const broke = [{ users: 20, held: true }, { users: 40, held: true }, { users: 80, held: false }];
  t.equal(nextStepUsers(broke, search), 60, 'between the largest that held and the smallest that broke');
  t.equal(nextStepUsers([...broke, { users: 60, held: true }], search), 70);
  t.equal(nextStepUsers([...broke, { users: 60, held: false }], search), 50);
  t.equal(nextStepUsers([...broke, { users: 60, held: true }, { users: 70, held: false }], search), null, 'two refinements, then done');
});

t.test('the search stops at its ceiling, and looks below its start when the first step breaks', async (t) => {
  t.equal(nextStepUsers([{ users: 20, held: true }, { users: 40, held: true }], { ...search, maxUsers: 60 }), 60, 'the last step is the ceiling itself');
  t.equal(nextStepUsers([{ users: 20, held: true }, { users: 40, held: true }, { users: 60, held: true }], { ...search, maxUsers: 60 }), null);
  t.equal(nextStepUsers([], { ...search, maxUsers: 5 }), 5, 'a ceiling under the start is the first step');
  t.equal(nextStepUsers([{ users: 20, held: false }], search), 10);
  t.equal(nextStepUsers([{ users: 20, held: false }, { users: 10, held: false }], search), 5);
  t.equal(nextStepUsers([{ users: 2, held: true }, { users: 3, held: false }], search), null, 'a gap of one user is as fine as the search gets');
});

t.test('a search that is not one is a programming error', async (t) => {
  t.throws(() => nextStepUsers([], { ...search, startUsers: 0 }), /startUsers/);
  t.throws(() => nextStepUsers([], { ...search, maxUsers: 2.5 }), /maxUsers/);
  t.throws(() => nextStepUsers([], { ...search, refinements: -1 }), /refinements/);
});

t.test('the answer is the largest step that held and the smallest that broke, whatever order they ran in', async (t) => {
  const steps = [[20, 30], [40, 50], [80, 400], [60, 90], [70, 120]].map(([users, p99]) => summariseStep(users!, phase(users!, p99!), level));
  t.same(capacityOf(steps), {
    holds: { users: 60, sessions: 180, decisionsPerSecond: 50 },
    breaks: { users: 70, sessions: 210, problems: ['library p99 120 ms over 100 ms'] },
  });
  t.same(capacityOf(steps.slice(0, 2)).breaks, null, 'nothing broke up to the ceiling');
  t.same(capacityOf([steps[2]!]).holds, null, 'even the first step broke');
});

t.test('a search runs each step it chooses once and reports them in the order run', async (t) => {
  // A node that holds up to 100 users.
  const ran: number[] = [];
  const steps = await searchCapacity(search, level, async (users) => {
    ran.push(users);
    return phase(users, users <= 100 ? 50 : 250);
  }, () => undefined);
  t.same(ran, [20, 40, 80, 160, 120, 100]);
  t.same(steps.map((step) => step.held), [true, true, true, false, false, true]);
  t.equal(capacityOf(steps).holds?.users, 100);
  t.equal(capacityOf(steps).breaks?.users, 120);
});
