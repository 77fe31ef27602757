import t from 'tap';
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { TalliedCounter, TalliedHistogram } from '../../src/metrics/tally.js';

function counter(registry: Registry) {
  return new TalliedCounter({ name: 'test_events_total', help: 'events', labelNames: ['kind', 'result'] as const, registers: [registry] });
}

t.test('a scrape shows every increment made before it, per label set', async (t) => {
  const registry = new Registry();
  const events = counter(registry);
  events.inc({ kind: 'a', result: 'ok' });
  events.inc({ kind: 'a', result: 'ok' }, 2);
  events.inc({ kind: 'b', result: 'ok' });
  const text = await registry.metrics();
  t.match(text, /test_events_total\{kind="a",result="ok"\} 3/);
  t.match(text, /test_events_total\{kind="b",result="ok"\} 1/);
});

t.test('counts keep adding up across scrapes', async (t) => {
  const registry = new Registry();
  const events = counter(registry);
  events.inc({ kind: 'a', result: 'ok' });
  await registry.metrics();
  events.inc({ kind: 'a', result: 'ok' }, 4);
  const { values } = await events.get();
  t.same(values.map((v) => [v.labels, v.value]), [[{ kind: 'a', result: 'ok' }, 5]]);
});

t.test('a label set that lacks a label is its own series, apart from an empty value', async (t) => {
  const registry = new Registry();
  const events = counter(registry);
  events.inc({ kind: 'a' });
  events.inc({ kind: 'a', result: '' });
  const { values } = await events.get();
  t.equal(values.length, 2);
});

t.test('a counter without labels counts by value', async (t) => {
  const registry = new Registry();
  const plain = new TalliedCounter({ name: 'test_plain_total', help: 'plain', registers: [registry] });
  plain.inc();
  plain.inc(2.5);
  t.equal((await plain.get()).values[0]?.value, 3.5);
});

t.test('an unknown label name or a bad amount is refused at the call, not at the scrape', async (t) => {
  const registry = new Registry();
  const events = counter(registry);
  t.throws(() => events.inc({ kind: 'a', colour: 'red' } as never), /label "colour"/);
  t.throws(() => events.inc({ kind: 'a' }, -1), RangeError);
  t.throws(() => events.inc(Number.NaN), RangeError);
  t.match(await registry.metrics(), /# TYPE test_events_total counter/);
});

t.test('an unknown label is refused on every call, not only the first of its label set', async (t) => {
  const registry = new Registry();
  const events = counter(registry);
  events.inc({ kind: 'a', result: 'ok' });
  t.throws(() => events.inc({ kind: 'a', result: 'ok', colour: 'red' } as never), /label "colour"/);
  t.match(await registry.metrics(), /test_events_total\{kind="a",result="ok"\} 1\n/, 'and it counts nothing');
});

t.test('remove takes a series away with what was counted into it before, as on a plain counter', async (t) => {
  const registry = new Registry();
  const events = counter(registry);
  events.inc({ kind: 'a', result: 'ok' });
  events.inc({ kind: 'b', result: 'ok' });
  events.remove({ kind: 'a', result: 'ok' });
  const { values } = await events.get();
  t.same(values.map((v) => [v.labels, v.value]), [[{ kind: 'b', result: 'ok' }, 1]]);
});

t.test('reset forgets counts not yet scraped', async (t) => {
  const registry = new Registry();
  const events = counter(registry);
  events.inc({ kind: 'a', result: 'ok' });
  events.reset();
  t.same((await events.get()).values, []);
});

t.test('the labels() child counts through the tally too', async (t) => {
  const registry = new Registry();
  const events = counter(registry);
  events.labels('a', 'ok').inc(2);
  events.labels({ kind: 'a', result: 'ok' }).inc();
  t.equal((await events.get()).values[0]?.value, 3);
});

t.test('a tallied histogram scrapes exactly as a plain one fed the same observations, through observe, labels() children, resets and removes', async () => {
  const buckets = [0.001, 0.01, 0.1, 1];
  const made = () => {
    const plainRegistry = new Registry();
    const talliedRegistry = new Registry();
    const configuration = { name: 'test_latency_seconds', help: 'latency', labelNames: ['source', 'kind'] as const, buckets };
    return {
      plain: new Histogram({ ...configuration, registers: [plainRegistry] }),
      tallied: new TalliedHistogram({ ...configuration, registers: [talliedRegistry] }),
      plainRegistry,
      talliedRegistry,
    };
  };
  // A number and its text are one series to prom-client; an undefined value is a label not given.
  const labelSets = [{ source: 'fresh', kind: 'a' }, { source: 'library', kind: 'a' }, { source: 'library' }, {}, { source: 1 }, { source: '1' }, { source: 'library', kind: undefined }];
  // Values on and around the bounds, and beyond the last one (counted in +Inf only).
  const value = fc.oneof(fc.constantFrom(0, ...buckets, 2.5), fc.double({ min: 0, max: 3, noNaN: true }));
  const step = fc.oneof(
    { weight: 8, arbitrary: fc.record({ op: fc.constant('observe' as const), labels: fc.nat(labelSets.length - 1), value }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('child' as const), labels: fc.nat(1), value }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('positional' as const), value }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('scrape' as const) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('reset' as const, 'remove' as const, 'zero' as const), labels: fc.nat(1) }) },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
      const { plain, tallied, plainRegistry, talliedRegistry } = made();
      for (const s of steps) {
        for (const histogram of [plain, tallied]) {
          if (s.op === 'observe') histogram.observe(labelSets[s.labels]!, s.value);
          else if (s.op === 'child') histogram.labels(labelSets[s.labels]!).observe(s.value);
          else if (s.op === 'positional') histogram.labels('fresh', 'a').observe(s.value);
          else if (s.op === 'reset') histogram.reset();
          else if (s.op === 'remove') histogram.remove(labelSets[s.labels]!);
          else if (s.op === 'zero') histogram.zero(labelSets[s.labels]!);
        }
        if (s.op === 'scrape') await sameScrape();
      }
      await sameScrape();
      async function sameScrape() {
        const [got, expected] = [await talliedRegistry.metrics(), await plainRegistry.metrics()];
        if (got !== expected) throw new Error(`tallied:\n${got}\nplain:\n${expected}`);
      }
    }),
    { numRuns: 200 },
  );
});

t.test('a tallied histogram without labels observes a bare value, and refuses a value that is not a finite number at the call', async (t) => {
  const registry = new Registry();
  const latency = new TalliedHistogram({ name: 'test_plain_seconds', help: 'plain', buckets: [1], registers: [registry] });
  latency.observe(0.5);
  latency.observe(0.5);
  latency.observe(2);
  t.match(await registry.metrics(), /test_plain_seconds_bucket\{le="1"\} 2\ntest_plain_seconds_bucket\{le="\+Inf"\} 3\ntest_plain_seconds_sum 3\ntest_plain_seconds_count 3/);
  t.throws(() => latency.observe(Number.NaN), TypeError);
  t.throws(() => latency.observe(Number.POSITIVE_INFINITY), TypeError);
  const labelled = new TalliedHistogram({ name: 'test_labelled_seconds', help: 'labelled', labelNames: ['source'] as const, buckets: [1], registers: [registry] });
  t.throws(() => labelled.observe({ source: 'fresh', colour: 'red' } as never, 1), /colour/, 'an unknown label is refused by the first observation of its set');
  labelled.observe({ source: 'fresh' }, 1);
  t.throws(() => labelled.observe({ source: 'fresh', colour: 'red' } as never, 1), /colour/, 'and by any later one');
  labelled.startTimer({ source: 'timed' })();
  t.match(await registry.metrics(), /test_labelled_seconds_count\{source="timed"\} 1/, 'a timer observes through the tally too');
});
