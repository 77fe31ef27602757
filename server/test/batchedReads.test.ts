import t from 'tap';
import { BatchedReads } from '../src/db/batchedReads.js';

/** A read that answers when told to, noting the keys of each query it was asked. */
function database(rows: Map<string, number>) {
  const queries: string[][] = [];
  const pending: Array<{ answer: () => void; fail: (error: Error) => void }> = [];
  const read = (keys: readonly string[]) =>
    new Promise<Map<string, number>>((resolve, reject) => {
      queries.push([...keys]);
      // The rows as they are when the query is answered, as a database's would be.
      pending.push({ answer: () => resolve(new Map(keys.filter((key) => rows.has(key)).map((key) => [key, rows.get(key)!]))), fail: reject });
    });
  return { read, queries, pending };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

t.test('the asks of one moment share one query, and each asker gets its own row or the absent value', async (t) => {
  const db = database(new Map([['a', 1], ['b', 2]]));
  const reads = new BatchedReads(db.read, null, { batchMax: 100, inFlightMax: 2, timeoutMs: 60_000 });
  const answers = Promise.all([reads.load('a'), reads.load('b'), reads.load('nobody'), reads.load('a')]);
  await settle();
  t.same(db.queries, [['a', 'b', 'nobody']], 'one query, each key once');
  db.pending[0]!.answer();
  t.same(await answers, [1, 2, null, 1]);
});

t.test('while the most batches allowed are out, the next one keeps gathering until one is back', async (t) => {
  const db = database(new Map([['a', 1], ['b', 2], ['c', 3], ['d', 4]]));
  const reads = new BatchedReads(db.read, null, { batchMax: 100, inFlightMax: 1, timeoutMs: 60_000 });
  const first = reads.load('a');
  await settle();
  const later = [reads.load('b')];
  await settle();
  later.push(reads.load('c'));
  await settle();
  later.push(reads.load('d'));
  await settle();
  t.same(db.queries, [['a']], 'nothing else leaves while the first query is out');
  db.pending[0]!.answer();
  t.equal(await first, 1);
  await settle();
  t.same(db.queries, [['a'], ['b', 'c', 'd']], 'the asks made meanwhile leave together');
  db.pending[1]!.answer();
  t.same(await Promise.all(later), [2, 3, 4]);
});

t.test('a batch holds at most batchMax asks; the rest form the next batch', async (t) => {
  const db = database(new Map([['a', 1], ['b', 2], ['c', 3]]));
  const reads = new BatchedReads(db.read, null, { batchMax: 2, inFlightMax: 2, timeoutMs: 60_000 });
  const answers = Promise.all([reads.load('a'), reads.load('b'), reads.load('c')]);
  await settle();
  t.same(db.queries, [['a', 'b'], ['c']]);
  for (const query of db.pending) query.answer();
  t.same(await answers, [1, 2, 3]);
});

t.test('a failed query fails the asks of its batch only, and the next batch is read', async (t) => {
  const db = database(new Map([['a', 1], ['b', 2]]));
  const reads = new BatchedReads(db.read, null, { batchMax: 100, inFlightMax: 1, timeoutMs: 60_000 });
  const failed = reads.load('a');
  await settle();
  const next = reads.load('b');
  await settle();
  db.pending[0]!.fail(new Error('connection lost'));
  await t.rejects(failed, /connection lost/);
  await settle();
  t.same(db.queries, [['a'], ['b']], 'the failure freed its slot');
  db.pending[1]!.answer();
  t.equal(await next, 2);
});

t.test('nothing is kept between batches: an ask after a read gets a read of its own', async (t) => {
  const rows = new Map([['a', 1]]);
  const db = database(rows);
  const reads = new BatchedReads(db.read, null, { batchMax: 100, inFlightMax: 2, timeoutMs: 60_000 });
  const before = reads.load('a');
  await settle();
  db.pending[0]!.answer();
  t.equal(await before, 1);
  rows.set('a', 5);
  const after = reads.load('a');
  await settle();
  db.pending[1]!.answer();
  t.equal(await after, 5, 'the row as it is now, not as the earlier read found it');
  t.equal(db.queries.length, 2);
});

t.test('batches that fill up while the most allowed are out leave in the order they were made', async (t) => {
  const db = database(new Map(['a', 'b', 'c', 'd', 'e'].map((key, index) => [key, index])));
  const reads = new BatchedReads(db.read, null, { batchMax: 2, inFlightMax: 1, timeoutMs: 60_000 });
  const first = reads.load('a');
  await settle();
  const later = ['b', 'c', 'd', 'e'].map((key) => reads.load(key));
  await settle();
  t.same(db.queries, [['a']]);
  db.pending[0]!.answer();
  await first;
  await settle();
  t.same(db.queries.slice(1), [['b', 'c']], 'the oldest full batch leaves first, one at a time');
  db.pending[1]!.answer();
  await settle();
  await settle();
  t.same(db.queries.slice(2), [['d', 'e']]);
  db.pending[2]!.answer();
  t.same(await Promise.all(later), [1, 2, 3, 4]);
});

t.test('a query that does not answer in time fails its batch and frees its place for the next', async (t) => {
  const db = database(new Map([['a', 1], ['b', 2]]));
  const reads = new BatchedReads(db.read, null, { batchMax: 100, inFlightMax: 1, timeoutMs: 30 });
  const silent = reads.load('a');
  await settle();
  const next = reads.load('b');
  await t.rejects(silent, /did not answer within 30 ms/);
  await settle();
  t.same(db.queries, [['a'], ['b']]);
  db.pending[1]!.answer();
  t.equal(await next, 2);
  db.pending[0]!.answer();
});
