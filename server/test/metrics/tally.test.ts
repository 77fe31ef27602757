import t from 'tap';
import { Registry } from 'prom-client';
import { TalliedCounter } from '../../src/metrics/tally.js';

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
