import fc from 'fast-check';
import t from 'tap';
import { attemptsExhausted, backoffDelayMs, closeAction } from '../src/reconnect.js';

const options = { baseMs: 100, maxMs: 10_000 };

t.test('the delay is drawn uniformly from zero up to the exponential ceiling (full jitter)', async (t) => {
  t.same([0, 1, 2, 3, 4].map((failures) => backoffDelayMs(failures, () => 0, options)), [0, 0, 0, 0, 0], 'random 0 waits nothing');
  t.same([0, 1, 2, 3, 4].map((failures) => backoffDelayMs(failures, () => 0.5, options)), [50, 100, 200, 400, 800], 'half the ceiling at 0.5');
  t.same([0, 1, 2, 3, 4].map((failures) => backoffDelayMs(failures, () => 0.999_999, options)), [99, 199, 399, 799, 1599], 'just under the ceiling');
});

t.test('the ceiling stops growing at maxMs', async (t) => {
  t.equal(backoffDelayMs(7, () => 0.999_999, options), 9_999);
  t.equal(backoffDelayMs(30, () => 0.5, options), 5_000);
  t.equal(backoffDelayMs(10_000, () => 0.5, options), 5_000, 'a huge count neither overflows nor passes the cap');
});

t.test('every delay lies in [0, min(maxMs, baseMs × 2^failures)]', async () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 0, max: 100_000 }), (failures, draw, baseMs, extraMs) => {
        const maxMs = baseMs + extraMs;
        const delay = backoffDelayMs(failures, () => draw, { baseMs, maxMs });
        return Number.isInteger(delay) && delay >= 0 && delay <= Math.min(maxMs, baseMs * 2 ** Math.min(failures, 52));
      },
    ),
  );
});

t.test('a random source out of range cannot push the delay outside its bounds', async (t) => {
  t.equal(backoffDelayMs(2, () => -3, options), 0);
  t.equal(backoffDelayMs(2, () => 7, options), 400);
});

t.test('a negative or fractional failure count is a programming error', async (t) => {
  t.throws(() => backoffDelayMs(-1, () => 0.5, options));
  t.throws(() => backoffDelayMs(1.5, () => 0.5, options));
});

t.test('attempts run out after attemptsMax consecutive failures', async (t) => {
  t.equal(attemptsExhausted(2, { attemptsMax: 3 }), false);
  t.equal(attemptsExhausted(3, { attemptsMax: 3 }), true);
});

t.test('close codes decide between reconnecting, refreshing the token, unauthorized and stopping', async (t) => {
  t.same(
    [4000, 4002, 4050, 1001, 1006].map(closeAction),
    ['reconnect', 'reconnect', 'reconnect', 'reconnect', 'reconnect'],
    'restarts, backpressure, going away and abnormal closes reconnect',
  );
  t.equal(closeAction(4001), 'refresh', 'an expired token is refreshed first');
  t.equal(closeAction(1008), 'unauthorized', 'a policy close (unknown user) is not retried');
  t.equal(closeAction(1009), 'stop', 'an oversized message would be sent again: stop');
  t.equal(closeAction(1011), 'reconnect', 'a server error is retried with backoff');
  t.equal(closeAction(1000), 'reconnect', 'a close the player did not ask for is retried with backoff');
});
