import t from 'tap';
import { OfflineCache } from '../src/offlineCache.js';
import { stockFrame } from './support/messages.js';

const bytes = new Uint8Array([1, 2, 3]);
const cache = (capacity = 3) => new OfflineCache({ capacity, usedRememberedMax: 64 });

t.test('a full cache evicts the least recently offered frame', async (t) => {
  const offline = cache(3);
  for (const index of [1, 2, 3]) t.equal(offline.add({ stock: stockFrame(index), bytes }), null);
  t.equal(offline.wants(stockFrame(1)), false, 'offering a cached frame again refreshes it');
  t.equal(offline.add({ stock: stockFrame(4), bytes })?.stock.id, 'stock-2', 'so 2 is now the least recent');
  t.same(offline.list().map((frame) => frame.id), ['stock-3', 'stock-1', 'stock-4']);
});

t.test('takes the most recently offered frame first and never hands out a frame twice', async (t) => {
  const offline = cache(3);
  for (const index of [1, 2]) offline.add({ stock: stockFrame(index), bytes });
  t.equal(offline.take()?.stock.id, 'stock-2');
  t.equal(offline.wants(stockFrame(2)), false, 'a taken frame is not wanted again');
  t.equal(offline.add({ stock: stockFrame(2), bytes }), null);
  t.equal(offline.size, 1);
  t.equal(offline.wants(stockFrame(9, { frameId: 'library-2' })), false, 'nor its image under another stock id');
  t.equal(offline.take()?.stock.id, 'stock-1');
  t.equal(offline.take(), null);
});

t.test('a frame shown live is dropped from the cache and never cached again', async (t) => {
  const offline = cache(3);
  offline.add({ stock: stockFrame(1), bytes });
  offline.add({ stock: stockFrame(2), bytes });
  offline.markShown('library-1');
  t.same(offline.list().map((frame) => frame.id), ['stock-2']);
  t.equal(offline.wants(stockFrame(1)), false);
});

t.test('asks for a refill below half full, for what it takes to fill up', async (t) => {
  const offline = cache(5);
  t.equal(offline.needsRefill(), true);
  t.equal(offline.missing(), 5);
  for (const index of [1, 2, 3]) offline.add({ stock: stockFrame(index), bytes });
  t.equal(offline.needsRefill(), false, '3 of 5 is not below half');
  offline.take();
  t.equal(offline.needsRefill(), true, '2 of 5 is');
  t.equal(offline.missing(), 3);
});

t.test('two stock items of one image are cached once', async (t) => {
  const offline = cache(3);
  offline.add({ stock: stockFrame(1), bytes });
  t.equal(offline.wants(stockFrame(2, { frameId: 'library-1' })), false);
});
