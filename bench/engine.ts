/**
 * `npm run bench:engine [-- --scale F --json FILE]`: the in-process engine's writes once its maps
 * are full. Each of its bounded maps (sessions, seen sets, user-days, records) is written with new
 * keys to 2.4 times its bound (times `--scale`), each write followed by a use of the entry written
 * 1,000 writes before (a read of the session, a frame seen, a frame counted, a read of the record),
 * so that the clock's second chances are spent as in a server whose recent sessions are playing.
 * Each write with its use is timed: the mean below the bound and past it, and p50 / p99 / max past
 * it (HDR histograms, microseconds; the slowest include garbage collections).
 *
 * Next to it, the eviction itself at the sessions' bound: one plain map against the same entries in
 * shards (`state/shards.ts`), so the reason for the shards is measured in the same run.
 *
 * Pure CPU and memory: no database or network.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { limits } from '../server/src/limits.js';
import { MemoryEngine } from '../server/src/state/memory.js';
import { makeRoom, ShardedMap } from '../server/src/state/shards.js';

const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' }, json: { type: 'string' } } });
const scale = Number(values.scale);
if (!(scale > 0 && scale <= 4)) throw new Error(`--scale must be a number in (0, 4], not ${values.scale}`);

type Past = { belowMeanUs: number; pastMeanUs: number; pastP50Us: number; pastP99Us: number; pastMaxUs: number; writes: number; bound: number };

const context = Object.freeze({ genre: 'techno', mood: 'dark', energy: 0.5 });
const ttlMs = 3_600_000;
/** A key per write: a counter, then a scrambled copy of it. */
const keyOf = (index: number) => `${index.toString(36)}-${((index * 2_654_435_761) % 4_294_967_296).toString(36)}`;
const usedBehind = 1_000;

type EngineMap = 'sessions' | 'seen sets' | 'user-days' | 'records';
const bounds: Record<EngineMap, number> = {
  sessions: limits.memorySessionsMax,
  'seen sets': limits.memorySeenScopesMax,
  'user-days': limits.memoryUserDaysMax,
  records: limits.memoryRecordsMax,
};

/** Writes entry `index` of `map`, then uses the one written `usedBehind` writes before. */
async function writeAndUse(engine: MemoryEngine, map: EngineMap, index: number): Promise<void> {
  const key = keyOf(index);
  const earlier = keyOf(Math.max(0, index - usedBehind));
  if (map === 'sessions') {
    await engine.putSession(Object.freeze({ id: key, userId: 'u', orientation: 'landscape', context, conserve: false, device: null }), ttlMs);
    await engine.getSession(earlier);
  } else if (map === 'seen sets') {
    await engine.markSeen(key, 'frame', 10, ttlMs);
    await engine.markSeen(earlier, 'another frame', 10, ttlMs);
  } else if (map === 'user-days') {
    await engine.countDay(key, '2026-11-22', { frames: 1 }, ttlMs);
    await engine.countDay(earlier, '2026-11-22', { frames: 1 }, ttlMs);
  } else {
    await engine.putRecord(key, { frame: key }, ttlMs);
    await engine.getRecord(earlier);
  }
}

/** Times `total` writes of new keys in a map of `bound`: `step(index)` is one write. */
async function timeWrites(bound: number, total: number, step: (index: number) => Promise<void> | void): Promise<Past> {
  const past = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 });
  let belowUs = 0;
  let pastUs = 0;
  for (let index = 0; index < total; index += 1) {
    const started = performance.now();
    await step(index);
    const us = (performance.now() - started) * 1000;
    if (index < bound) belowUs += us;
    else {
      pastUs += us;
      past.recordValue(Math.max(1, Math.round(us)));
    }
  }
  const result = {
    belowMeanUs: belowUs / bound, pastMeanUs: pastUs / (total - bound), pastP50Us: past.getValueAtPercentile(50), pastP99Us: past.getValueAtPercentile(99),
    pastMaxUs: past.maxValue, writes: total, bound,
  };
  past.destroy();
  return result;
}

async function benchEngine(map: EngineMap): Promise<Past> {
  const bound = Math.max(1, Math.round(bounds[map] * scale));
  const engine = new MemoryEngine({ sessionsMax: bound, seenScopesMax: bound, userDaysMax: bound, recordsMax: bound });
  try {
    return await timeWrites(bound, Math.round(bound * 2.4), (index) => writeAndUse(engine, map, index));
  } finally {
    await engine.close();
  }
}

/** The clock eviction alone at the sessions' bound: one map, then shards. */
async function benchEviction(): Promise<{ oneMap: Past; shards: Past }> {
  const bound = Math.max(1, Math.round(limits.memorySessionsMax * scale));
  const total = Math.round(bound * 2.4);
  const entry = () => ({ used: false });
  const single = new Map<string, { used: boolean }>();
  const oneMap = await timeWrites(bound, total, (index) => {
    makeRoom(single, bound);
    single.set(keyOf(index), entry());
  });
  const sharded = new ShardedMap<{ used: boolean }>(bound);
  const shards = await timeWrites(bound, total, (index) => {
    const key = keyOf(index);
    const shard = sharded.of(key);
    makeRoom(shard, sharded.entriesPerShardMax);
    shard.set(key, entry());
  });
  return { oneMap, shards };
}

async function main(): Promise<void> {
  const engine: Partial<Record<EngineMap, Past>> = {};
  for (const map of Object.keys(bounds) as EngineMap[]) engine[map] = await benchEngine(map);
  const eviction = await benchEviction();
  const row = (name: string, past: Past) =>
    `| ${name} | ${past.bound.toLocaleString('en')} | ${past.belowMeanUs.toFixed(1)} | ${past.pastMeanUs.toFixed(1)} | ${past.pastP50Us} | ${past.pastP99Us} | ${past.pastMaxUs.toLocaleString('en')} |`;
  process.stdout.write(
    [
      `The in-process engine's maps written with new keys to 2.4 times their bound, each write followed by a use of an entry ${usedBehind} writes older, µs per write and use:`,
      '| map | bound | mean below the bound | mean past it | p50 past | p99 past | max past |',
      '|---|---|---|---|---|---|---|',
      ...(Object.entries(engine) as Array<[EngineMap, Past]>).map(([map, past]) => row(map, past)),
      '',
      `The clock eviction alone at the sessions' bound, µs per write:`,
      '| layout | bound | mean below the bound | mean past it | p50 past | p99 past | max past |',
      '|---|---|---|---|---|---|---|',
      row('one map', eviction.oneMap),
      row('shards', eviction.shards),
      '',
    ].join('\n'),
  );
  if (values.json !== undefined) await writeFile(values.json, JSON.stringify({ scale, engine, eviction }, null, 2));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:engine failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
