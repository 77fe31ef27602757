import t from 'tap';
import { evictOldest, makeRoom, ShardedMap } from '../../src/state/shards.js';

t.test('a small bound is one map; a large one is split into shards of a few thousand that share it', async (t) => {
  const small = new ShardedMap<number>(3);
  t.equal(small.shards.length, 1);
  t.equal(small.entriesPerShardMax, 3);
  for (const [bound, shards] of [[100_000, 32], [200_000, 64], [1_000_000, 256], [500_000, 128]] as const) {
    const map = new ShardedMap<number>(bound);
    t.equal(map.shards.length, shards, `${bound.toLocaleString('en')}: ${shards} shards`);
    t.ok(map.entriesPerShardMax * shards <= bound && map.entriesPerShardMax <= 4_096, `of ${map.entriesPerShardMax} each, within the bound`);
  }
});

t.test("keys that end alike (one day's user-days) spread over every shard", async (t) => {
  const map = new ShardedMap<number>(1_000_000);
  for (let user = 0; user < 100_000; user += 1) map.of(`user-${user}|2026-11-22`).set(`user-${user}|2026-11-22`, user);
  const sizes = map.shards.map((shard) => shard.size);
  const mean = 100_000 / sizes.length;
  t.equal(map.size, 100_000);
  t.ok(Math.min(...sizes) > mean * 0.8 && Math.max(...sizes) < mean * 1.2, `shard sizes ${Math.min(...sizes)}–${Math.max(...sizes)} around ${mean}`);
  t.equal(map.get('user-77|2026-11-22'), 77, 'a key is found in its shard');
  map.clear();
  t.equal(map.size, 0);
});

t.test('the oldest entries go first; a used entry gets one second chance, the one being added none', async (t) => {
  const fifo = new Map([['a', 1], ['b', 2], ['c', 3]]);
  evictOldest(fifo, 2);
  t.same([...fifo.keys()], ['b', 'c']);
  const clock = new Map([['a', { used: true }], ['b', { used: false }]]);
  makeRoom(clock, 2);
  t.same([...clock.keys()], ['a'], 'b, unused, went; a was kept and unmarked');
  t.equal(clock.get('a')!.used, false);
  clock.get('a')!.used = true;
  clock.set('c', { used: true });
  makeRoom(clock, 2);
  t.same([...clock.keys()], ['c'], 'every entry used: the oldest goes once its chance is spent');
});

t.test('a bound that is not a whole number of at least one entry is refused', async (t) => {
  for (const bound of [0, -5, 2.5, Number.NaN]) t.throws(() => new ShardedMap<number>(bound), /whole number of entries/, String(bound));
});
