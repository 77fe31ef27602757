import t, { type Test } from 'tap';
import { MemoryEngine } from '../../src/state/memory.js';
import { engineContract } from './engineContract.js';

const record = (id: string) => ({ id, userId: 'u', orientation: 'square' as const, context: { genre: 'a', mood: 'b', energy: 0 }, conserve: false, device: null });
const sessionsAtMost = (t: Test, sessionsMax: number) => {
  const engine = new MemoryEngine({ sessionsMax });
  t.teardown(() => engine.close());
  return engine;
};

engineContract(t, async (t) => {
  const engine = new MemoryEngine();
  t.teardown(() => engine.close());
  return engine;
});

t.test('evicts the least recently used session beyond its bound', async (t) => {
  const engine = sessionsAtMost(t, 2);
  await engine.putSession(record('a'), 60_000);
  await engine.putSession(record('b'), 60_000);
  await engine.getSession('a');
  await engine.putSession(record('c'), 60_000);
  t.not(await engine.getSession('a'), null, 'recently read');
  t.equal(await engine.getSession('b'), null, 'least recently used is evicted');
  t.not(await engine.getSession('c'), null);
});

t.test('when every session was used since the last eviction, the oldest goes, never the one being added', async (t) => {
  const engine = sessionsAtMost(t, 2);
  await engine.putSession(record('a'), 60_000);
  await engine.putSession(record('b'), 60_000);
  await engine.getSession('b');
  await engine.getSession('a');
  await engine.putSession(record('c'), 60_000);
  t.equal(await engine.getSession('a'), null, 'the oldest, its second chance spent');
  t.not(await engine.getSession('b'), null);
  t.not(await engine.getSession('c'), null, 'the new session stays');
});

t.test('keeps at most its bound of seen sets, forgetting the least recently written', async (t) => {
  const engine = new MemoryEngine({ seenScopesMax: 3 });
  t.teardown(() => engine.close());
  for (const scope of ['a', 'b', 'c', 'd', 'e']) await engine.markSeen(scope, 'frame', 10, 60_000);
  t.same([...(await engine.seenFrames('a')).keys()], []);
  t.same([...(await engine.seenFrames('b')).keys()], []);
  t.same([...(await engine.seenFrames('e')).keys()], ['frame']);
});

t.test('sweeping drops expired entries', async (t) => {
  let now = 0;
  const engine = new MemoryEngine({ now: () => now });
  t.teardown(() => engine.close());
  await engine.addToMix('s', 'library', 1000);
  await engine.markSeen('s', 'f', 10, 1000);
  now = 5000;
  engine.sweep();
  t.same(await engine.getMix('s'), { fresh: 0, library: 0 });
  t.same([...(await engine.seenFrames('s')).keys()], []);
});

t.test('a stored decision is kept as the object itself, frozen all the way down', async (t) => {
  const engine = new MemoryEngine();
  t.teardown(() => engine.close());
  const stored = { fingerprint: 'f', decision: { id: 'd1', reasons: ['library frame you have not seen'] } };
  t.equal(await engine.putDecisionIfAbsent('s', 'r', stored, 60_000), stored);
  t.equal(await engine.getDecision('s', 'r'), stored, 'no copy and no JSON');
  t.ok(Object.isFrozen(stored) && Object.isFrozen(stored.decision) && Object.isFrozen(stored.decision.reasons), 'nobody can change what a replay answers');
});

t.test('keeps at most its bound of records, forgetting the least recently written', async (t) => {
  const engine = new MemoryEngine({ recordsMax: 3 });
  t.teardown(() => engine.close());
  for (const key of ['a', 'b', 'c']) await engine.putRecord(`shown:${key}`, { key }, 60_000);
  await engine.putRecord('shown:a', { key: 'a', again: true }, 60_000);
  await engine.putRecord('shown:d', { key: 'd' }, 60_000);
  t.equal(await engine.getRecord('shown:b'), null, 'written longest ago');
  t.same(await engine.getRecord('shown:a'), { key: 'a', again: true }, 'a rewrite counts as recent');
  t.not(await engine.getRecord('shown:c'), null);
  t.not(await engine.getRecord('shown:d'), null);
});

t.test('a bound large enough to shard the records still holds, and the newest records are all kept', async (t) => {
  let now = 0;
  const engine = new MemoryEngine({ recordsMax: 16_384, now: () => now });
  t.teardown(() => engine.close());
  const keys = Array.from({ length: 41_000 }, () => `shown:${crypto.randomUUID()}`);
  for (const [index, key] of keys.entries()) await engine.putRecord(key, { index }, 60_000);
  const kept = await Promise.all(keys.map((key) => engine.getRecord(key)));
  const keptCount = kept.filter((value) => value !== null).length;
  t.ok(keptCount <= 16_384 && keptCount > 15_000, `${keptCount} of 41,000 kept, within the bound of 16,384`);
  t.equal(kept.slice(-1_000).filter((value) => value === null).length, 0, 'the last 1,000 written are all there');
  now = 120_000;
  await engine.putRecord('shown:late', {}, 60_000);
  engine.sweep();
  t.not(await engine.getRecord('shown:late'), null, 'a sweep keeps what has not expired');
  t.equal((await Promise.all(keys.map((key) => engine.getRecord(key)))).filter((value) => value !== null).length, 0, 'and what has expired reads as gone, in every shard');
});

t.test('bounds large enough to shard sessions, seen sets and user-days still hold, and the newest entries are all kept', async (t) => {
  const bound = 16_384;
  const engine = new MemoryEngine({ sessionsMax: bound, seenScopesMax: bound, userDaysMax: bound });
  t.teardown(() => engine.close());
  const ids = Array.from({ length: 41_000 }, () => crypto.randomUUID());
  for (const id of ids) {
    await engine.putSession(record(id), 60_000);
    await engine.markSeen(id, 'frame', 10, 60_000);
    await engine.countDay(id, '2026-11-22', { frames: 1 }, 60_000);
  }
  const sessions = await Promise.all(ids.map(async (id) => (await engine.getSession(id)) !== null));
  const seen = await Promise.all(ids.map(async (id) => (await engine.seenFrames(id)).size > 0));
  const days = await Promise.all(ids.map(async (id) => (await engine.getDays(id, ['2026-11-22']))[0]!.frames > 0));
  for (const [name, kept] of [['sessions', sessions], ['seen sets', seen], ['user-days', days]] as const) {
    const count = kept.filter(Boolean).length;
    t.ok(count <= bound && count > 15_000, `${name}: ${count} of 41,000 kept, within the bound of 16,384`);
    t.equal(kept.slice(-1_000).filter((isKept) => !isKept).length, 0, `${name}: the last 1,000 written are all there`);
  }
});
