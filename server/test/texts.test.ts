import t from 'tap';
import { ContextPool, TextPool } from '../src/texts.js';
import { dayKeyOf } from '../src/titration/clock.js';

t.test('a pooled text reads as the text it was given, and null stays null', async (t) => {
  const texts = new TextPool(10);
  t.equal(texts.of('techno'), 'techno');
  t.equal(texts.of(['tech', 'no'].join('')), 'techno');
  t.equal(texts.of(null), null);
  t.equal(texts.size, 1, 'one copy of a text however often it is asked for');
});

t.test('the pool never grows past its bound, starts over when full, and still answers every text', async (t) => {
  const texts = new TextPool(3);
  const names = Array.from({ length: 10 }, (_, index) => `genre-${index}`);
  t.same(names.map((name) => texts.of(name)), names);
  t.ok(texts.size <= 3);
  t.equal(texts.size, 1, 'the tenth name began a new pool after the ninth filled the third');
  texts.of('genre-9');
  t.equal(texts.size, 1, 'the newest names are pooled again');
});

t.test('a long text is answered but not pooled', async (t) => {
  const texts = new TextPool(10);
  const long = 'x'.repeat(65);
  t.equal(texts.of(long), long);
  t.equal(texts.size, 0);
});

t.test('a pool for longer texts (decision reasons) shares texts up to its own length bound', async (t) => {
  const texts = new TextPool(10, 100);
  const reason = 'thin library for this screen: 0 unseen frames (needs 60), 0 styles (needs 5), 0% unseen';
  t.equal(texts.of(reason), reason);
  t.equal(texts.of('y'.repeat(101)), 'y'.repeat(101));
  t.equal(texts.size, 1, 'the 87-character reason is pooled, the 101-character text is not');
});

t.test('sessions of one music context share one frozen copy of it, its labels pooled', async (t) => {
  const texts = new TextPool(10);
  const contexts = new ContextPool(texts, 10);
  const first = contexts.of({ genre: 'techno', mood: 'dark', energy: 0.7 });
  const again = contexts.of({ genre: ['tech', 'no'].join(''), mood: 'dark', energy: 0.7 });
  t.equal(again, first, 'an equal context is answered with the held copy');
  t.ok(Object.isFrozen(first));
  t.same(first, { genre: 'techno', mood: 'dark', energy: 0.7 });
  t.not(contexts.of({ genre: 'techno', mood: 'dark', energy: 0.71 }), first, 'another energy is another context');
  t.equal(texts.size, 2, 'the genre and the mood are pooled texts');
});

t.test('contexts whose labels run into each other stay apart', async (t) => {
  const contexts = new ContextPool(new TextPool(10), 10);
  const a = contexts.of({ genre: 'ab', mood: 'c:1', energy: 0.5 });
  const b = contexts.of({ genre: 'a', mood: 'bc:1', energy: 0.5 });
  const c = contexts.of({ genre: 'ab', mood: 'c', energy: 1 });
  t.same([a.genre, a.mood, b.genre, b.mood, c.mood, c.energy], ['ab', 'c:1', 'a', 'bc:1', 'c', 1]);
  t.equal(contexts.size, 3);
});

t.test('the context pool never grows past its bound and still answers every context', async (t) => {
  const contexts = new ContextPool(new TextPool(100), 3);
  for (let index = 0; index < 10; index += 1) {
    const energy = index / 10;
    t.equal(contexts.of({ genre: 'house', mood: 'warm', energy }).energy, energy);
    t.ok(contexts.size <= 3);
  }
});

t.test('day keys are the same however the days alternate', async (t) => {
  t.equal(dayKeyOf(2026, 11, 22), '2026-11-22');
  t.equal(dayKeyOf(2026, 11, 22), '2026-11-22');
  t.equal(dayKeyOf(2026, 1, 2), '2026-01-02');
  t.equal(dayKeyOf(2026, 11, 22), '2026-11-22');
  t.equal(dayKeyOf(2027, 1, 1), '2027-01-01');
});
