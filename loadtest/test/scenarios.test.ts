import t from 'tap';
import { bucketQuantileMs, poolWaitBetween, medianSlopeOf, perConnectionOf, slopeOf, withinBucket, withSocketsOf, type IdleResult } from '../src/scenarios.js';
import { cHeapBytesIn, cHeapBytesOf } from '../src/processes.js';

const usage = (buckets: Array<[number, number]>) => ({ cpuSeconds: 0, residentBytes: 0, heapUsedBytes: 0, heapTotalBytes: 0, libraryDecisionBuckets: buckets });

t.test("the server's decision time is read from its histogram: the bucket holding the quantile, between two readings", async (t) => {
  const before = [usage([[0.0005, 100], [0.001, 100], [0.0025, 100], [Infinity, 100]])];
  // 1,000 decisions in the window: 900 under 0.5 ms, 95 more under 1 ms, 5 under 2.5 ms.
  const after = [usage([[0.0005, 1000], [0.001, 1095], [0.0025, 1100], [Infinity, 1100]])];
  t.same(bucketQuantileMs(before, after, 0.5), { aboveMs: 0, atMostMs: 0.5 });
  t.same(bucketQuantileMs(before, after, 0.99), { aboveMs: 0.5, atMostMs: 1 });
  t.same(bucketQuantileMs(before, after, 0.999), { aboveMs: 1, atMostMs: 2.5 });
});

t.test('a quantile past the last bucket has no upper bound, and says how far it is at least', async (t) => {
  const before = [usage([[0.0005, 0], [2.5, 0], [Infinity, 0]])];
  // 100 decisions: 90 under 0.5 ms, 5 under 2.5 s, 5 slower than that.
  const after = [usage([[0.0005, 90], [2.5, 95], [Infinity, 100]])];
  t.same(bucketQuantileMs(before, after, 0.99), { aboveMs: 2500, atMostMs: null });
  t.equal(JSON.stringify(bucketQuantileMs(before, after, 0.99)), '{"aboveMs":2500,"atMostMs":null}', 'which JSON keeps as it is');
  t.equal(withinBucket(null, 2500), '> 2500');
  t.equal(withinBucket(2.5, 1), '≤ 2.5');
});

t.test('several servers add up, and a window without decisions (or the echo) has no figure', async (t) => {
  const one = usage([[0.0005, 10], [0.001, 10], [Infinity, 10]]);
  const other = usage([[0.0005, 0], [0.001, 10], [Infinity, 10]]);
  t.same(bucketQuantileMs([usage([[0.0005, 0], [0.001, 0], [Infinity, 0]]), usage([[0.0005, 0], [0.001, 0], [Infinity, 0]])], [one, other], 0.5), { aboveMs: 0, atMostMs: 0.5 });
  t.same(bucketQuantileMs([usage([[0.0005, 0], [0.001, 0], [Infinity, 0]]), usage([[0.0005, 0], [0.001, 0], [Infinity, 0]])], [one, other], 0.75), { aboveMs: 0.5, atMostMs: 1 });
  t.equal(bucketQuantileMs([one], [one], 0.99), null);
  t.equal(bucketQuantileMs([{ cpuSeconds: 0, residentBytes: 0, heapUsedBytes: 0, heapTotalBytes: 0 }], [{ cpuSeconds: 1, residentBytes: 0, heapUsedBytes: 0, heapTotalBytes: 0 }], 0.99), null);
});

t.test("the pool's waits are read the same way, apart from the decisions: how many clients were taken and the p99 wait", async (t) => {
  const reading = (decisions: number, waits: Array<[number, number]>) => ({ ...usage([[0.0005, decisions], [Infinity, decisions]]), poolWaitBuckets: waits });
  // 2,000 clients taken in the window: 1,900 within 0.5 ms, the rest waited 100–250 ms.
  const before = [reading(0, [[0.0005, 500], [0.1, 500], [0.25, 500], [Infinity, 500]])];
  const after = [reading(1000, [[0.0005, 2400], [0.1, 2400], [0.25, 2500], [Infinity, 2500]])];
  t.same(poolWaitBetween(before, after), { acquired: 2000, p99AboveMs: 100, p99AtMostMs: 250 });
  t.same(bucketQuantileMs(before, after, 0.99), { aboveMs: 0, atMostMs: 0.5 }, 'the decisions keep their own histogram');
  t.equal(poolWaitBetween(before, before), null, 'no client taken: no figure');
  t.equal(poolWaitBetween([usage([])], [usage([])]), null, 'nor for the echo, which has no pool');
});

t.test('memory per connection is the least-squares slope of the readings, which one noisy reading moves less than a two-point growth', async (t) => {
  const line = [2000, 4000, 6000, 8000, 10000].map((x) => ({ x, y: 1_000_000 + 600 * x }));
  t.equal(slopeOf(line), 600, 'readings on a line give its slope');
  const noisy = line.map((point, index) => (index === 2 ? { ...point, y: point.y + 1_000_000 } : point));
  t.equal(slopeOf(noisy), 600, 'a middle reading off by a megabyte leaves the slope as it is');
  const lastOff = line.map((point, index) => (index === 4 ? { ...point, y: point.y + 1_000_000 } : point));
  t.equal(slopeOf(lastOff), 700, 'a last reading off by a megabyte moves it by 100 B, where the growth between the middle and the last reading would move by 250');
  t.equal(slopeOf([{ x: 1, y: 5 }]), null, 'one reading has no slope');
  t.equal(slopeOf([{ x: 3, y: 5 }, { x: 3, y: 9 }]), null, 'nor readings at one count of sessions');
});

const idle = (nativePerConnection: number, heapPerConnection: number): IdleResult => ({
  sessions: 10000, residentBeforeBytes: 0, residentAfterBytes: 0, heapUsedBeforeBytes: 0, heapUsedAfterBytes: 0, residentPerConnection: nativePerConnection,
  nativePerConnection, heapPerConnection, bytesPerConnection: Math.max(0, nativePerConnection) + heapPerConnection, connectMs: { count: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 },
  readings: [], nativeFromEcho: false, nativeMeasure: 'cHeap',
});

t.test("Titrate's sockets are counted at least at the echo's native memory, which its own resident memory cannot show", async (t) => {
  const echo = idle(600, 40);
  const counted = withSocketsOf(idle(-10, 650), echo);
  t.equal(counted.nativePerConnection, 600);
  t.equal(counted.bytesPerConnection, 1250, "the echo's socket plus Titrate's own heap");
  t.equal(counted.nativeFromEcho, true);
  t.equal(withSocketsOf({ ...idle(-10, 650), nativeMeasure: 'residentLessHeap' }, echo).nativeMeasure, 'cHeap', "the echo's reading comes with its measure");
  const larger = withSocketsOf(idle(900, 650), echo);
  t.equal(larger.bytesPerConnection, 1550, 'a larger reading of its own stands');
  t.equal(larger.nativeFromEcho, false);
  const noFloor = withSocketsOf(idle(-10, 650), idle(-50, 40));
  t.same([noFloor.nativePerConnection, noFloor.nativeFromEcho, noFloor.bytesPerConnection], [-10, false, 650], 'an echo reading at or below zero is no floor');
});

t.test("where the C heap cannot be read, a connection costs the slope of resident memory less V8's reservation plus the heap's, whatever V8 reserves", async (t) => {
  // Each 2,000 sessions add 1.2 MB of sockets and 1.3 MB of heap; V8 reserves 9 MB more at each of the last two steps.
  const readings = [1, 2, 3, 4, 5].map((step) => {
    const reserved = 50_000_000 + Math.max(0, step - 3) * 9_000_000;
    const native = 250_000_000 + step * 1_200_000;
    return { sessions: step * 2000, residentBytes: native + reserved, heapTotalBytes: reserved, heapUsedBytes: 26_000_000 + step * 1_300_000, cHeapBytes: null };
  });
  const memory = perConnectionOf(readings);
  t.same([memory.nativePerConnection, memory.heapPerConnection, memory.bytesPerConnection], [600, 650, 1250]);
  t.equal(memory.nativeMeasure, 'residentLessHeap');
  t.equal(memory.residentPerConnection, 2850, "resident memory's own slope carries V8's reservation with it");
  const firstHigh = perConnectionOf(readings.map((reading, index) => (index === 0 ? { ...reading, residentBytes: reading.residentBytes + 7_500_000 } : reading)));
  t.equal(firstHigh.nativePerConnection, 600, 'a first native reading the allocator gave back later leaves native memory at its median slope');
  const shrinking = perConnectionOf(readings.map((reading) => ({ ...reading, residentBytes: reading.heapTotalBytes + 250_000_000 - reading.sessions * 100 })));
  t.same([shrinking.nativePerConnection, shrinking.bytesPerConnection], [-100, 650], 'native memory that falls adds nothing');
});

t.test("native memory is the C heap's slope where it can be read: V8 reserving and returning megabytes elsewhere does not move it", async (t) => {
  // The echo of one run: 520 B a socket into its C heap; V8's reservation and resident memory jump by megabytes.
  const readings = [1, 2, 3, 4, 5].map((step) => ({
    sessions: step * 2000, cHeapBytes: 9_000_000 + step * 1_040_000, heapUsedBytes: 6_000_000 + step * 40_000,
    heapTotalBytes: [9, 16, 12, 20, 14][step - 1]! * 1_000_000, residentBytes: [80, 74, 70, 81, 76][step - 1]! * 1_000_000,
  }));
  const memory = perConnectionOf(readings);
  t.same([memory.nativeMeasure, memory.nativePerConnection, memory.heapPerConnection, memory.bytesPerConnection], ['cHeap', 520, 20, 540]);
  const oneUnread = perConnectionOf(readings.map((reading, index) => (index === 2 ? { ...reading, cHeapBytes: null } : reading)));
  t.equal(oneUnread.nativeMeasure, 'residentLessHeap', 'one reading without its C heap and the measure falls back for them all');
});

t.test("the C heap is the resident size of the [heap] mapping in /proc's smaps, and nothing else's", async (t) => {
  const smaps = [
    '55d1c0a00000-55d1c0b00000 r-xp 00000000 08:01 131 /usr/bin/node',
    'Size:               1024 kB',
    'Rss:                 900 kB',
    '55d1c2000000-55d1c4000000 rw-p 00000000 00:00 0                          [heap]',
    'Size:              32768 kB',
    'Rss:               30000 kB',
    'Pss:               30000 kB',
    '7f00a0000000-7f00a4000000 rw-p 00000000 00:00 0 ',
    'Size:              65536 kB',
    'Rss:               40000 kB',
    '7ffd1a000000-7ffd1a021000 rw-p 00000000 00:00 0                          [stack]',
    'Rss:                  12 kB',
  ].join('\n');
  t.equal(cHeapBytesIn(smaps), 30_000 * 1024);
  t.equal(cHeapBytesIn('7ffd1a000000-7ffd1a021000 rw-p 00000000 00:00 0 [stack]\nRss: 12 kB'), null, 'no [heap] mapping (another allocator): no reading, rather than a flat one');
  t.equal(cHeapBytesOf(2 ** 30), null, 'a process that is not there has none');
  if (process.platform === 'linux') t.ok((cHeapBytesOf(process.pid) ?? 0) > 0, "this test's own process has one");
});

t.test('native memory is the median slope, which a reading the allocator shrank between two steps moves little', async (t) => {
  const line = [2000, 4000, 6000, 8000, 10000].map((x) => ({ x, y: 70_000_000 + 400 * x }));
  t.equal(medianSlopeOf(line), 400);
  // The echo of one bench: its first reading 7.5 MB high, freed by the second.
  const firstHigh = line.map((point, index) => (index === 0 ? { ...point, y: point.y + 7_500_000 } : point));
  t.equal(medianSlopeOf(firstHigh), 400, 'the median of the ten slopes keeps to the line');
  t.ok(slopeOf(firstHigh)! < 0, 'where least squares reads memory falling as sockets are added');
  t.equal(medianSlopeOf([{ x: 1, y: 1 }, { x: 2, y: 3 }]), 2, 'two readings give their own slope');
  t.equal(medianSlopeOf([{ x: 1, y: 1 }]), null);
});
