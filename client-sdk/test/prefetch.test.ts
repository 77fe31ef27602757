import t from 'tap';
import { PrefetchQueue, labelsOf } from '../src/prefetch.js';
import { frame } from './support/messages.js';

const techno = 'techno|energetic';
const ambient = 'ambient|calm';

t.test('keeps prefetch frames ahead, plus one per waiting caller, within its bound', async (t) => {
  const queue = new PrefetchQueue(4);
  t.equal(queue.shortfall(2, 0), 2);
  queue.add('a', techno, 0);
  t.equal(queue.shortfall(2, 1), 2, 'a waiting caller adds one');
  t.equal(queue.shortfall(5, 3), 3, 'never more than the bound');
  queue.add('b', techno, 0);
  queue.answer(frame('a'));
  t.equal(queue.shortfall(2, 0), 0, 'a ready frame counts as ahead');
});

t.test('a lost connection puts sent and pending requests back in line with their ids', async (t) => {
  const queue = new PrefetchQueue(4);
  queue.add('a', techno, 0);
  queue.add('b', techno, 0);
  queue.markSent('a', 10);
  queue.markSent('b', 10);
  queue.markPending('b', 5_000);
  t.same(queue.toSend(20), []);
  queue.connectionLost();
  t.same(queue.toSend(20).map((request) => request.id), ['a', 'b']);
});

t.test('ready frames are handed out first come, first served', async (t) => {
  const queue = new PrefetchQueue(4);
  queue.add('fresh', techno, 0);
  queue.add('library', techno, 0);
  queue.markPending('fresh', 9_000);
  t.equal(queue.answer(frame('library')), 'ready');
  t.equal(queue.take()?.message.req, 'library', 'the library frame is shown while the fresh one is generated');
  t.equal(queue.answer(frame('fresh', { source: 'fresh', charged: 2 })), 'ready');
  t.equal(queue.take()?.message.req, 'fresh');
  t.equal(queue.take(), null);
});

t.test('a frame for no request of ours is ignored', async (t) => {
  const queue = new PrefetchQueue(4);
  t.equal(queue.answer(frame('stranger')), 'unknown');
  t.equal(queue.readyCount, 0);
});

t.test('a context change drops free library frames of the old context but keeps charged ones', async (t) => {
  const queue = new PrefetchQueue(5);
  for (const id of ['free', 'fresh', 'charged-library', 'in-flight', 'in-flight-fresh']) queue.add(id, techno, 0);
  queue.answer(frame('free'));
  queue.answer(frame('fresh', { source: 'fresh', charged: 2 }));
  queue.answer(frame('charged-library', { charged: 1 }));
  const dropped = queue.contextChanged(ambient);
  t.same(dropped.map((message) => message.req), ['free']);
  t.same([queue.take()?.message.req, queue.take()?.message.req], ['fresh', 'charged-library']);
  t.equal(queue.answer(frame('in-flight')), 'unwanted', 'a free frame still in flight is dropped when it lands');
  t.equal(queue.answer(frame('in-flight-fresh', { source: 'fresh', charged: 2 })), 'ready', 'a fresh one is kept');
});

t.test('a context change back to the same labels keeps what is in flight', async (t) => {
  const queue = new PrefetchQueue(4);
  queue.add('a', techno, 0);
  queue.contextChanged(ambient);
  queue.contextChanged(techno);
  t.equal(queue.answer(frame('a')), 'ready');
});

t.test('labels ignore case and spacing but tell genres and moods apart', async (t) => {
  t.equal(labelsOf({ genre: ' Techno', mood: 'Energetic ', energy: 0.1 }), labelsOf({ genre: 'techno', mood: 'energetic', energy: 0.9 }));
  t.not(labelsOf({ genre: 'techno', mood: 'calm', energy: 0.5 }), labelsOf({ genre: 'techno', mood: 'energetic', energy: 0.5 }));
});

t.test('a retried request waits out its delay, then goes again with the same id', async (t) => {
  const queue = new PrefetchQueue(4);
  queue.add('a', techno, 0);
  queue.markSent('a', 0);
  queue.retry('a', 1_000);
  t.same(queue.toSend(999), []);
  t.equal(queue.nextRetryInMs(400), 600);
  t.same(queue.toSend(1_000).map((request) => request.id), ['a']);
});

t.test('a sent request with no answer at all becomes overdue; a pending one does not', async (t) => {
  const queue = new PrefetchQueue(4);
  queue.add('silent', techno, 0);
  queue.add('generating', techno, 0);
  queue.markSent('silent', 0);
  queue.markSent('generating', 0);
  queue.markPending('generating', 60_000);
  t.equal(queue.overdueInMs(5_000, 20_000), 15_000);
  t.same(queue.overdue(20_000, 20_000).map((request) => request.id), ['silent']);
});

t.test('adding past the bound or the same id twice is a programming error', async (t) => {
  const queue = new PrefetchQueue(1);
  queue.add('a', techno, 0);
  t.throws(() => queue.add('a', techno, 0));
  t.throws(() => queue.add('b', techno, 0));
});
