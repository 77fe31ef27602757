import t from 'tap';
import { bucketQuantileMs } from '../src/scenarios.js';

const usage = (buckets: Array<[number, number]>) => ({ cpuSeconds: 0, residentBytes: 0, heapUsedBytes: 0, libraryDecisionBuckets: buckets });

t.test("the server's decision time is read from its histogram: the bucket holding the quantile, between two readings", async (t) => {
  const before = [usage([[0.0005, 100], [0.001, 100], [0.0025, 100], [Infinity, 100]])];
  // 1,000 decisions in the window: 900 under 0.5 ms, 95 more under 1 ms, 5 under 2.5 ms.
  const after = [usage([[0.0005, 1000], [0.001, 1095], [0.0025, 1100], [Infinity, 1100]])];
  t.equal(bucketQuantileMs(before, after, 0.5), 0.5);
  t.equal(bucketQuantileMs(before, after, 0.99), 1);
  t.equal(bucketQuantileMs(before, after, 0.999), 2.5);
});

t.test('several servers add up, and a window without decisions (or the echo) has no figure', async (t) => {
  const one = usage([[0.0005, 10], [0.001, 10], [Infinity, 10]]);
  const other = usage([[0.0005, 0], [0.001, 10], [Infinity, 10]]);
  t.equal(bucketQuantileMs([usage([[0.0005, 0], [0.001, 0], [Infinity, 0]]), usage([[0.0005, 0], [0.001, 0], [Infinity, 0]])], [one, other], 0.5), 0.5);
  t.equal(bucketQuantileMs([usage([[0.0005, 0], [0.001, 0], [Infinity, 0]]), usage([[0.0005, 0], [0.001, 0], [Infinity, 0]])], [one, other], 0.75), 1);
  t.equal(bucketQuantileMs([one], [one], 0.99), null);
  t.equal(bucketQuantileMs([{ cpuSeconds: 0, residentBytes: 0, heapUsedBytes: 0 }], [{ cpuSeconds: 1, residentBytes: 0, heapUsedBytes: 0 }], 0.99), null);
});
