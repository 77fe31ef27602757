/**
 * The scenarios, each a function of a running stack (or the echo) that drives a generator and
 * returns what it measured:
 *
 *   idle       N sessions connect, say `hello`, and stay quiet: resident memory per connection.
 *   steady     N sessions, each asking `next` at a fixed rate and sending a beacon per frame.
 *   dj         high-velocity sessions: a frame every 1–2 s, a new track every few frames, bursts
 *              bought, many short sessions per user, several devices per user.
 *   charge     fresh decisions as fast as sessions can ask (every one charged, served from a warm
 *              prompt cache, so generation is excluded), next to single-row UPDATE transactions.
 *   reconnect  N streaming sessions all dropped at once; each reconnects and resumes.
 *
 * Scenarios against the echo use the same sessions, message sizes and rates.
 */
import type { Context, Orientation } from '@titrate/shared';
import pg from 'pg';
import type { DriverSnapshot, SessionSpec } from './driver.js';
import { LoadGenerator } from './generators.js';
import { newHistogram, percentilesOf, type Percentiles } from './histogram.js';
import type { Usage } from './processes.js';

export const genres = ['techno', 'house', 'ambient', 'jazz', 'hiphop', 'rock'] as const;
export const moods = ['calm', 'energetic', 'dark', 'uplifting', 'melancholic'] as const;

/** Where sessions connect, and how its processes' usage is read (`collect`: after a full garbage collection). */
export type Target = { urls: string[]; kind: 'titrate' | 'echo'; usage: (collect?: boolean) => Promise<Usage[]> };
export type RunSettings = { processes: number; seed: number; log: (line: string) => void };

export type PhaseResult = {
  sessions: number;
  seconds: number;
  decisions: number;
  decisionsPerSecond: number;
  latency: { library: Percentiles; fresh: Percentiles; pending: Percentiles; all: Percentiles };
  /** Server CPU seconds per decision, in microseconds (all server processes together). */
  cpuMicrosPerDecision: number;
  cpuCoresUsed: number;
  residentBytes: number;
  chargedFrames: number;
  chargedPerSecond: number;
  creditsCharged: number;
  frames: { library: number; fresh: number };
  fallbacks: Record<string, number>;
  pendings: number;
  beacons: { sent: number; acked: number; refused: Record<string, number> };
  bursts: { sent: number; charged: number; refused: Record<string, number> };
  errors: Record<string, number>;
  connectRefused: Record<string, number>;
  unexpectedCloses: Record<string, number>;
  sessionsStarted: number;
  unanswered: number;
  /** How long the sessions ran before the measured window, and whether the server's CPU rate had settled by then. */
  warmup: { seconds: number; settled: boolean | null };
  /**
   * The servers' own time from reading a library `next` to answering it, in the measured window: the
   * upper bounds (ms) of the histogram buckets holding its p50 and p99, and the lower bound of the
   * p99's bucket (null for the echo, or without decisions). Past the last bucket the upper bound is
   * null and the lower bound says how far it is at least. Next to the generator's latency it tells
   * the server's work from the wait before a request is read.
   */
  serverDecision: ServerQuantiles | null;
  /**
   * The servers' waits for a client of their main PostgreSQL pool in the measured window: how many
   * clients were taken, and the bounds (ms) of the bucket holding the p99 wait as for
   * `serverDecision` (null for the echo, or without queries). A p99 far above a millisecond says
   * queries queue for the pool.
   */
  serverPoolWait: { acquired: number; p99AboveMs: number; p99AtMostMs: number | null } | null;
};

/** Where a quantile lies: above the bucket before its own, at most its own bucket's bound (null: past the last bucket). */
export type BucketRange = { aboveMs: number; atMostMs: number | null };

/** A quantile as its bucket says it, for a report: "≤ 5", or past the last bucket "> 2500". */
export const withinBucket = (atMostMs: number | null, aboveMs?: number): string =>
  atMostMs !== null ? `≤ ${atMostMs}` : aboveMs === undefined ? 'over the last bucket' : `> ${aboveMs}`;

type Buckets = Usage['libraryDecisionBuckets'];

/** A histogram's cumulative counts by upper bound between two readings, summed over servers. */
function bucketsBetween(before: Usage[], after: Usage[], pick: (usage: Usage) => Buckets): Array<[le: number, count: number]> {
  const counts = new Map<number, number>();
  for (const [sign, usages] of [[-1, before], [1, after]] as const) {
    for (const usage of usages) for (const [le, count] of pick(usage) ?? []) counts.set(le, (counts.get(le) ?? 0) + sign * count);
  }
  return [...counts].sort(([a], [b]) => a - b);
}

/** The bounds (ms) of the bucket that holds quantile `q` between two readings (library decisions unless `pick` says otherwise). */
export function bucketQuantileMs(
  before: Usage[], after: Usage[], q: number, pick: (usage: Usage) => Buckets = (usage) => usage.libraryDecisionBuckets,
): BucketRange | null {
  const cumulative = bucketsBetween(before, after, pick);
  const total = cumulative.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const index = cumulative.findIndex(([, count]) => count >= q * total);
  const upper = cumulative[index]![0] * 1000;
  return { aboveMs: index === 0 ? 0 : cumulative[index - 1]![0] * 1000, atMostMs: Number.isFinite(upper) ? upper : null };
}

/** The main pool's waits between two readings (see `PhaseResult.serverPoolWait`). */
export function poolWaitBetween(before: Usage[], after: Usage[]): PhaseResult['serverPoolWait'] {
  const pick = (usage: Usage) => usage.poolWaitBuckets;
  const p99 = bucketQuantileMs(before, after, 0.99, pick);
  return p99 === null ? null : { acquired: bucketsBetween(before, after, pick).at(-1)![1], p99AboveMs: p99.aboveMs, p99AtMostMs: p99.atMostMs };
}

/**
 * A warm-up that lasts until the server's work per second stops falling: sessions that just
 * connected make one-off work (accounts opened, inboxes asked, frame variants rendered, caches
 * filled) that a steady state does not have. Settled: the CPU of the last `windowSeconds` is at
 * least `1 - tolerance` of the window before it.
 */
export type Settle = { windowSeconds: number; tolerance: number; maxSeconds: number };
export const steadySettle: Settle = { windowSeconds: 3, tolerance: 0.1, maxSeconds: 45 };

/** Waits until the target's CPU rate settles (or `maxSeconds` pass); tells whether it did. */
async function settle(target: Target, rule: Settle): Promise<boolean> {
  const deadline = performance.now() + rule.maxSeconds * 1000;
  let previous: number | null = null;
  let before = sumUsage(await target.usage()).cpuSeconds;
  while (performance.now() + rule.windowSeconds * 1000 <= deadline) {
    await sleep(rule.windowSeconds * 1000);
    const after = sumUsage(await target.usage()).cpuSeconds;
    const used = after - before;
    before = after;
    if (previous !== null && used >= (1 - rule.tolerance) * previous) return true;
    previous = used;
  }
  return false;
}

/** Memory after a full collection with `sessions` idle sessions connected. */
export type MemoryReading = { sessions: number; residentBytes: number; heapUsedBytes: number; heapTotalBytes: number; cHeapBytes: number | null };

/**
 * Memory per idle connection: the sessions connect in `idleSteps` equal steps and memory is read
 * after a full collection at the end of each. A connection costs what it adds to the process's
 * native memory plus what it adds to the JavaScript heap in use, each the slope over sessions (see
 * `perConnectionOf`). Native memory is the resident part of the C allocator's main heap (the
 * `[heap]` mapping: uWS sockets, their poll handles, V8's handles for their objects; see
 * `cHeapBytesOf`) where it can be read, else resident memory less what V8 holds for its heap
 * (`nativeMeasure` says which). Resident memory itself is not the measure: it also moves with what
 * V8 reserves for its heap, which grows and shrinks in steps of megabytes by its own policy (the
 * young generation grows under a flurry of connections) whatever each connection holds; so does
 * resident memory less V8's reservation, by less (the echo's socket read 173–718 B that way over
 * four benches, 510–555 B a step by its C heap). A slope over several readings is steadier than
 * the growth between two, and one-off allocations of the first connections (code, caches) fall
 * before the first reading.
 * A process that freed memory before (Titrate's, after seeding its pantry) hands sockets memory its
 * allocator already holds, so its native slope can read nothing: see `withSocketsOf`.
 * `residentBeforeBytes` … `heapUsedAfterBytes` are the first and the last readings;
 * `residentPerConnection` is resident memory's own slope, for reference.
 */
export type IdleResult = {
  sessions: number; residentBeforeBytes: number; residentAfterBytes: number; heapUsedBeforeBytes: number; heapUsedAfterBytes: number;
  residentPerConnection: number; nativePerConnection: number; heapPerConnection: number; bytesPerConnection: number; connectMs: Percentiles;
  /** What `nativePerConnection` is the slope of: the C allocator's main heap, or resident memory less V8's reservation. */
  nativeMeasure: NativeMeasure;
  readings: MemoryReading[];
  /** `nativePerConnection` is the echo's, not this process's own, smaller, reading (see `withSocketsOf`). */
  nativeFromEcho: boolean;
};

/**
 * Titrate's idle connections with their sockets' native memory counted at least at the echo's.
 * Both servers' sockets are uWebSockets.js sockets with the same settings, so each holds the same
 * native memory; the echo is a fresh process whose allocator must grow for every socket, while
 * Titrate's reuses memory freed after its start-up work (seeding the pantry with sharp), where its
 * resident memory cannot show them.
 */
export function withSocketsOf(idle: IdleResult, echo: IdleResult): IdleResult {
  const socket = echo.nativePerConnection;
  if (socket <= 0 || idle.nativePerConnection >= socket) return idle;
  return { ...idle, nativePerConnection: socket, nativeMeasure: echo.nativeMeasure, nativeFromEcho: true, bytesPerConnection: socket + idle.heapPerConnection };
}

/**
 * The median of the slopes between every two points (Theil–Sen): one reading far off the line (an
 * allocator that gave memory back between two steps) moves it little, where it moves a
 * least-squares slope by its whole offset spread over the readings. Null with fewer than two
 * distinct x.
 */
export function medianSlopeOf(points: ReadonlyArray<{ x: number; y: number }>): number | null {
  const slopes: number[] = [];
  for (let first = 0; first < points.length; first += 1) {
    for (let second = first + 1; second < points.length; second += 1) {
      const [from, to] = [points[first]!, points[second]!];
      if (to.x !== from.x) slopes.push((to.y - from.y) / (to.x - from.x));
    }
  }
  if (slopes.length === 0) return null;
  slopes.sort((a, b) => a - b);
  const middle = slopes.length >> 1;
  return slopes.length % 2 === 1 ? slopes[middle]! : (slopes[middle - 1]! + slopes[middle]!) / 2;
}

/**
 * Memory per connection from the readings (see `IdleResult`), each rounded to a byte: the heap's
 * by least squares (it grows by what the sessions hold, evenly), native and resident memory by the
 * median slope (they move by what the allocator keeps or gives back, in steps).
 */
export function perConnectionOf(readings: readonly MemoryReading[]): Pick<IdleResult, 'residentPerConnection' | 'nativePerConnection' | 'heapPerConnection' | 'bytesPerConnection' | 'nativeMeasure'> {
  const slope = (fit: typeof slopeOf, pick: (reading: MemoryReading) => number) => Math.round(fit(readings.map((reading) => ({ x: reading.sessions, y: pick(reading) }))) ?? 0);
  const nativeMeasure: NativeMeasure = readings.length > 0 && readings.every((reading) => reading.cHeapBytes !== null) ? 'cHeap' : 'residentLessHeap';
  const nativePerConnection = slope(medianSlopeOf, (reading) => (nativeMeasure === 'cHeap' ? reading.cHeapBytes! : reading.residentBytes - reading.heapTotalBytes));
  const heapPerConnection = slope(slopeOf, (reading) => reading.heapUsedBytes);
  return {
    residentPerConnection: slope(medianSlopeOf, (reading) => reading.residentBytes),
    nativePerConnection,
    nativeMeasure,
    heapPerConnection,
    bytesPerConnection: Math.max(0, nativePerConnection) + heapPerConnection,
  };
}

/** Native memory's measure: the C allocator's main heap, or (where that cannot be read) resident memory less V8's reservation. */
export type NativeMeasure = 'cHeap' | 'residentLessHeap';

/** Steps in which idle sessions connect, with a memory reading after each. */
export const idleSteps = 5;

/** The least-squares slope of `y` over `x` (null with fewer than two distinct x). */
export function slopeOf(points: ReadonlyArray<{ x: number; y: number }>): number | null {
  const n = points.length;
  if (n < 2) return null;
  const meanX = points.reduce((sum, point) => sum + point.x, 0) / n;
  const meanY = points.reduce((sum, point) => sum + point.y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const { x, y } of points) {
    covariance += (x - meanX) * (y - meanY);
    variance += (x - meanX) ** 2;
  }
  return variance === 0 ? null : covariance / variance;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every user and token a scenario needs, created through the admin API. */
export async function createUsers(
  admin: (method: string, route: string, body?: unknown) => Promise<unknown>,
  issue: (userId: string) => Promise<string>,
  prefix: string,
  count: number,
  tier: string,
): Promise<Array<{ id: string; token: string }>> {
  const users: Array<{ id: string; token: string }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        const id = `${prefix}${next++}`;
        await admin('PUT', `/v1/admin/users/${id}`, { tier });
        users.push({ id, token: await issue(id) });
      }
    }),
  );
  return users.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
}

/** A playlist of `tracks` contexts drawn from the demo pantry's genres and moods. */
export function playlist(random: () => number, tracks: number, energy?: number): Context[] {
  return Array.from({ length: tracks }, () => ({
    genre: genres[Math.floor(random() * genres.length)]!,
    mood: moods[Math.floor(random() * moods.length)]!,
    energy: energy ?? Math.round(random() * 100) / 100,
  }));
}

export const baseSpec = (user: { id: string; token: string }, device: string, orientation: Orientation, contexts: Context[]): SessionSpec => ({
  user: user.id, token: user.token, device, orientation, contexts, mode: 'paced', intervalMs: [1000, 1000], rateMax: 30, contextEvery: 0, beacons: true,
  likeShare: 0, lifetimeMs: null, burst: false,
});

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const sumUsage = (usages: Usage[]): Usage => ({
  cpuSeconds: usages.reduce((sum, usage) => sum + usage.cpuSeconds, 0), residentBytes: usages.reduce((sum, usage) => sum + usage.residentBytes, 0),
  heapUsedBytes: usages.reduce((sum, usage) => sum + usage.heapUsedBytes, 0),
  heapTotalBytes: usages.reduce((sum, usage) => sum + usage.heapTotalBytes, 0),
  cHeapBytes: usages.some((usage) => usage.cHeapBytes === undefined || usage.cHeapBytes === null) ? null : usages.reduce((sum, usage) => sum + usage.cHeapBytes!, 0),
});

/** Opens a generator on the target. */
export function generatorFor(target: Target, settings: RunSettings, prefix: string): Promise<LoadGenerator> {
  return LoadGenerator.start({ urls: target.urls.map((url) => `${url.replace(/^http/, 'ws')}/v1/stream`), target: target.kind, connectPerSecond: 1500, prefix, seed: settings.seed }, settings.processes);
}

/**
 * Connects `specs`, lets them run `warmupSeconds` (not measured), measures `seconds`, then stops
 * asking and waits up to `drainMs` for every outstanding answer.
 */
export async function runPhase(
  target: Target, settings: RunSettings, prefix: string, specs: SessionSpec[],
  options: { warmupSeconds: number; settle?: Settle; seconds: number; drainMs: number; midway?: (generator: LoadGenerator) => Promise<void> },
): Promise<PhaseResult> {
  const generator = await generatorFor(target, settings, prefix);
  try {
    await generator.add(specs);
    await waitFor(async () => (await generator.progress()).live >= specs.length, 120_000, `${specs.length} sessions to connect`);
    const warmupStarted = performance.now();
    await sleep(options.warmupSeconds * 1000);
    const settled = options.settle === undefined ? null : await settle(target, options.settle);
    const warmup = { seconds: Math.round((performance.now() - warmupStarted) / 100) / 10, settled };
    await generator.resetStats();
    let beforeEach = await target.usage();
    let started = performance.now();
    if (options.midway !== undefined) {
      // The window is the second half, from the disturbance on: the first half only keeps the
      // sessions going. `midway` restarts the generator's counts as it begins, the server's are read here.
      await sleep((options.seconds * 1000) / 2);
      beforeEach = await target.usage();
      started = performance.now();
      await options.midway(generator);
      await sleep(Math.max(0, (options.seconds * 1000) / 2 - (performance.now() - started)));
    } else await sleep(options.seconds * 1000);
    const before = sumUsage(beforeEach);
    const afterEach = await target.usage();
    const after = sumUsage(afterEach);
    const elapsed = (performance.now() - started) / 1000;
    const measured = await generator.snapshot();
    await generator.stopSending();
    const drainDeadline = Date.now() + options.drainMs;
    while ((await generator.progress()).outstanding > 0 && Date.now() < drainDeadline) await sleep(100);
    const unanswered = (await generator.progress()).outstanding;
    const serverDecision = serverQuantiles(beforeEach, afterEach, (usage) => usage.libraryDecisionBuckets);
    const serverPoolWait = poolWaitBetween(beforeEach, afterEach);
    return { ...summarise(target.kind, measured, specs.length, elapsed, after.cpuSeconds - before.cpuSeconds, after.residentBytes, unanswered), warmup, serverDecision, serverPoolWait };
  } finally {
    await generator.close();
  }
}

function summarise(kind: Target['kind'], snapshot: DriverSnapshot, sessions: number, seconds: number, cpuSeconds: number, residentBytes: number, unanswered: number): Omit<PhaseResult, 'warmup' | 'serverDecision' | 'serverPoolWait'> {
  const { counts } = snapshot;
  const decisions = counts.frames.library + counts.frames.fresh;
  const all = newHistogram();
  all.add(snapshot.library);
  all.add(snapshot.fresh);
  all.add(snapshot.echo);
  return {
    sessions,
    seconds: Math.round(seconds * 100) / 100,
    decisions,
    decisionsPerSecond: Math.round((decisions / seconds) * 10) / 10,
    latency: { library: percentilesOf(kind === 'echo' ? snapshot.echo : snapshot.library), fresh: percentilesOf(snapshot.fresh), pending: percentilesOf(snapshot.pending), all: percentilesOf(all) },
    cpuMicrosPerDecision: decisions === 0 ? 0 : Math.round((cpuSeconds / decisions) * 1e7) / 10,
    cpuCoresUsed: Math.round((cpuSeconds / seconds) * 1000) / 1000,
    residentBytes,
    chargedFrames: counts.chargedFrames,
    chargedPerSecond: Math.round((counts.chargedFrames / seconds) * 10) / 10,
    creditsCharged: counts.creditsCharged,
    frames: counts.frames,
    fallbacks: counts.fallbacks,
    pendings: counts.pendings,
    beacons: { sent: counts.beaconsSent, acked: counts.acks, refused: counts.beaconRefusals },
    bursts: { sent: counts.burstsSent, charged: counts.burstsCharged, refused: counts.burstRefusals },
    errors: counts.errors,
    connectRefused: counts.connectRefused,
    unexpectedCloses: counts.unexpectedCloses,
    sessionsStarted: counts.sessionsStarted,
    unanswered,
  };
}

/** Connects `specs` (idle sessions) in `idleSteps` steps and reports the target's memory per connection (see `IdleResult`). */
export async function runIdle(target: Target, settings: RunSettings, prefix: string, specs: SessionSpec[]): Promise<IdleResult> {
  const generator = await generatorFor(target, settings, prefix);
  try {
    const readings: MemoryReading[] = [];
    for (let step = 1; step <= idleSteps; step += 1) {
      const from = Math.floor(((step - 1) * specs.length) / idleSteps);
      const to = Math.floor((step * specs.length) / idleSteps);
      await generator.add(specs.slice(from, to));
      await waitFor(async () => (await generator.progress()).live >= to, 180_000, `${to} idle sessions to connect`);
      await sleep(2000);
      const usage = sumUsage(await target.usage(true));
      readings.push({ sessions: to, residentBytes: usage.residentBytes, heapUsedBytes: usage.heapUsedBytes, heapTotalBytes: usage.heapTotalBytes, cHeapBytes: usage.cHeapBytes ?? null });
    }
    const snapshot = await generator.snapshot();
    const [first, last] = [readings[0]!, readings[readings.length - 1]!];
    return {
      sessions: specs.length,
      residentBeforeBytes: first.residentBytes,
      residentAfterBytes: last.residentBytes,
      heapUsedBeforeBytes: first.heapUsedBytes,
      heapUsedAfterBytes: last.heapUsedBytes,
      ...perConnectionOf(readings),
      connectMs: percentilesOf(snapshot.connect),
      readings,
      nativeFromEcho: false,
    };
  } finally {
    await generator.close();
    await sleep(1000);
  }
}

/** A server-side histogram's quantiles between two readings, as bucket bounds (see `PhaseResult.serverDecision`). */
export type ServerQuantiles = { p50AtMostMs: number | null; p99AboveMs: number; p99AtMostMs: number | null };

export function serverQuantiles(before: Usage[], after: Usage[], pick: (usage: Usage) => Buckets): ServerQuantiles | null {
  const p50 = bucketQuantileMs(before, after, 0.5, pick);
  const p99 = bucketQuantileMs(before, after, 0.99, pick);
  return p50 === null || p99 === null ? null : { p50AtMostMs: p50.atMostMs, p99AboveMs: p99.aboveMs, p99AtMostMs: p99.atMostMs };
}

export type ReconnectResult = {
  sessions: number; reconnectedWithinMs: number; resumed: number; connectMs: Percentiles; refused: Record<string, number>;
  /**
   * The servers' own time to start the reconnected sessions, from the drop until every one was
   * live again: `upgrade` from the upgrade request to the socket opened (token, account), `hello`
   * from reading `hello` to sending `welcome`. Against `connectMs`, what the generator saw, it
   * tells the server's work from the wait before a request is read.
   */
  serverSessionStart: { upgrade: ServerQuantiles | null; hello: ServerQuantiles | null } | null;
  steady: PhaseResult;
};

/**
 * N streaming sessions dropped at once mid-run; how long until all are live again, resumed. The
 * phase's figures (`steady`) are those from the drop on.
 */
export async function runReconnect(target: Target, settings: RunSettings, prefix: string, specs: SessionSpec[], seconds: number): Promise<ReconnectResult> {
  let reconnectedWithinMs = -1;
  let snapshot: DriverSnapshot | null = null;
  let serverSessionStart: ReconnectResult['serverSessionStart'] = null;
  const steady = await runPhase(target, settings, prefix, specs, {
    warmupSeconds: 3, seconds, drainMs: 30_000,
    midway: async (generator) => {
      await generator.resetStats();
      const before = target.kind === 'titrate' ? await target.usage() : null;
      const dropped = performance.now();
      await generator.dropAll();
      await sleep(50);
      await waitFor(async () => (await generator.progress()).live >= specs.length, 120_000, 'every session to reconnect');
      reconnectedWithinMs = Math.round(performance.now() - dropped);
      snapshot = await generator.snapshot();
      if (before !== null) {
        const after = await target.usage();
        serverSessionStart = {
          upgrade: serverQuantiles(before, after, (usage) => usage.upgradeBuckets),
          hello: serverQuantiles(before, after, (usage) => usage.helloBuckets),
        };
      }
    },
  });
  const after = snapshot as DriverSnapshot | null;
  return {
    sessions: specs.length, reconnectedWithinMs, resumed: after?.counts.resumed ?? 0, connectMs: percentilesOf(after?.connect ?? newHistogram()),
    refused: after?.counts.connectRefused ?? {}, serverSessionStart, steady,
  };
}

/** The UPDATE baseline of a run: `transactionsPerSecond` is the better of its `runs` (before and after the charged sessions). */
export type UpdateBaseline = { clients: number; transactionsPerSecond: number; runs: number[] };

/** Single-row UPDATE transactions (BEGIN; UPDATE; COMMIT) on distinct rows by `clients` connections. */
export async function updateBaseline(databaseUrl: string, clients: number, seconds: number): Promise<{ clients: number; transactionsPerSecond: number }> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  const name = `loadtest_baseline_${process.pid}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: clients });
  try {
    await pool.query('CREATE TABLE counters (id integer PRIMARY KEY, value bigint NOT NULL)');
    await pool.query('INSERT INTO counters SELECT g, 0 FROM generate_series(1, $1::int) g', [clients]);
    const deadline = performance.now() + seconds * 1000;
    let transactions = 0;
    await Promise.all(
      Array.from({ length: clients }, async (_, index) => {
        const client = await pool.connect();
        try {
          while (performance.now() < deadline) {
            await client.query('BEGIN');
            await client.query({ name: 'bump', text: 'UPDATE counters SET value = value + 1 WHERE id = $1', values: [index + 1] });
            await client.query('COMMIT');
            transactions += 1;
          }
        } finally {
          client.release();
        }
      }),
    );
    return { clients, transactionsPerSecond: Math.round(transactions / seconds) };
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE ${name}`);
    await admin.end();
  }
}
