import t from 'tap';
import { BeaconQueue } from '../src/beaconQueue.js';
import type { BeaconMessage } from '../src/dwell.js';

const beacon = (id: string): BeaconMessage => ({ t: 'beacon', id, frame: `frame-${id}`, dwellMs: 1000, shownAt: 1 });
const queue = (capacity = 4, inFlightMax = 2) => new BeaconQueue({ capacity, inFlightMax, ackTimeoutMs: 10_000 });

t.test('a full queue drops its oldest beacon and counts the drop', async (t) => {
  const beacons = queue(3);
  for (const id of ['a', 'b', 'c']) t.equal(beacons.add(beacon(id)), null);
  t.equal(beacons.add(beacon('d'))?.id, 'a');
  t.same(beacons.list().map((entry) => entry.id), ['b', 'c', 'd']);
  t.equal(beacons.size, 3);
  t.equal(beacons.dropped, 1);
});

t.test('sends oldest first and holds at most inFlightMax beacons awaiting an ack', async (t) => {
  const beacons = queue(4, 2);
  for (const id of ['a', 'b', 'c']) beacons.add(beacon(id));
  t.equal(beacons.nextToSend(0)?.id, 'a');
  beacons.markSent('a', 0);
  t.equal(beacons.nextToSend(0)?.id, 'b');
  beacons.markSent('b', 0);
  t.equal(beacons.nextToSend(0), null, 'two await their ack: the third waits');
  t.equal(beacons.slotFreesInMs(4_000), 6_000);
});

t.test('any ack settles a beacon, ok or not', async (t) => {
  const beacons = queue();
  beacons.add(beacon('a'));
  beacons.add(beacon('b'));
  beacons.markSent('a', 0);
  beacons.markSent('b', 0);
  t.equal(beacons.settle('a')?.id, 'a', 'an ok ack');
  t.equal(beacons.settle('b')?.id, 'b', 'a late_beacon refusal settles it just the same');
  t.equal(beacons.size, 0);
  t.equal(beacons.settle('a'), null, 'a second ack for the same beacon changes nothing');
});

t.test('after a lost connection every unsettled beacon is sent again with the same id', async (t) => {
  const beacons = queue(4, 4);
  for (const id of ['a', 'b']) {
    beacons.add(beacon(id));
    beacons.markSent(id, 0);
  }
  t.equal(beacons.nextToSend(1), null);
  beacons.connectionLost();
  t.equal(beacons.nextToSend(1)?.id, 'a');
  beacons.markSent('a', 1);
  t.equal(beacons.nextToSend(1)?.id, 'b');
});

t.test('an unanswered beacon stops holding a slot after the ack timeout, but is not sent twice on one connection', async (t) => {
  const beacons = queue(4, 1);
  beacons.add(beacon('a'));
  beacons.add(beacon('b'));
  beacons.markSent('a', 0);
  t.equal(beacons.nextToSend(9_999), null);
  t.equal(beacons.nextToSend(10_000)?.id, 'b', 'the window opened for the next one');
  beacons.markSent('b', 10_000);
  t.equal(beacons.nextToSend(30_000), null, 'a is not repeated until a reconnect');
  t.ok(beacons.has('a'), 'and stays queued');
});

t.test('queuing the same beacon id twice is a programming error', async (t) => {
  const beacons = queue();
  beacons.add(beacon('a'));
  t.throws(() => beacons.add(beacon('a')));
});
