import t from 'tap';
import { TokenBucket, bucketRule } from '../src/gateway/tokenBucket.js';

t.test('allows a burst, then the average rate', async (t) => {
  const bucket = new TokenBucket(bucketRule(10, 5), 0);
  const burst = Array.from({ length: 7 }, () => bucket.take(0));
  t.same(burst, [true, true, true, true, true, false, false]);
  t.equal(bucket.take(100), true, 'one token refills in 100 ms at 10/s');
  t.equal(bucket.take(100), false);
});

t.test('never holds more than the burst, however long it idles', async (t) => {
  const bucket = new TokenBucket(bucketRule(10, 3), 0);
  const taken = Array.from({ length: 5 }, () => bucket.take(3_600_000)).filter(Boolean).length;
  t.equal(taken, 3);
});

t.test('a clock going backwards does not mint tokens', async (t) => {
  const bucket = new TokenBucket(bucketRule(10, 1), 1000);
  t.equal(bucket.take(1000), true);
  t.equal(bucket.take(0), false);
});
