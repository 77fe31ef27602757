import t from 'tap';
import { ClientMessage, Context, Hello, Next, Beacon, protocolLimits } from '@titrate/shared';

const context = { genre: 'house', mood: 'uplifting', energy: 0.5 };

t.test('hello requires a known orientation and a context', async (t) => {
  t.ok(Hello.safeParse({ t: 'hello', v: 1, orientation: 'landscape', context }).success);
  t.notOk(Hello.safeParse({ t: 'hello', v: 1, orientation: 'diagonal', context }).success, 'unknown orientation');
  t.notOk(Hello.safeParse({ t: 'hello', v: 1, orientation: 'square' }).success, 'missing context');
  t.notOk(Hello.safeParse({ t: 'hello', v: 1.5, orientation: 'square', context }).success, 'fractional version');
});

t.test('energy must lie in 0..1 and labels must be 1..64 characters', async (t) => {
  t.ok(Context.safeParse({ ...context, energy: 0 }).success);
  t.ok(Context.safeParse({ ...context, energy: 1 }).success);
  t.notOk(Context.safeParse({ ...context, energy: -0.01 }).success);
  t.notOk(Context.safeParse({ ...context, energy: 1.01 }).success);
  t.notOk(Context.safeParse({ ...context, genre: '' }).success);
  t.notOk(Context.safeParse({ ...context, genre: '   ' }).success, 'blank after trimming');
  t.notOk(Context.safeParse({ ...context, mood: 'm'.repeat(protocolLimits.contextLabelLengthMax + 1) }).success);
});

t.test('request ids are 1..64 characters', async (t) => {
  t.ok(Next.safeParse({ t: 'next', id: 'a' }).success);
  t.ok(Next.safeParse({ t: 'next', id: 'a'.repeat(64) }).success);
  t.notOk(Next.safeParse({ t: 'next', id: '' }).success);
  t.notOk(Next.safeParse({ t: 'next', id: 'a'.repeat(65) }).success);
  t.notOk(Next.safeParse({ t: 'next', id: 7 }).success);
});

t.test('beacons need a frame and a non-negative integer dwell', async (t) => {
  t.ok(Beacon.safeParse({ t: 'beacon', frame: 'f1', dwellMs: 0 }).success);
  t.notOk(Beacon.safeParse({ t: 'beacon', frame: 'f1', dwellMs: -1 }).success);
  t.notOk(Beacon.safeParse({ t: 'beacon', frame: 'f1', dwellMs: 1.5 }).success);
  t.notOk(Beacon.safeParse({ t: 'beacon', dwellMs: 10 }).success);
});

t.test('unknown fields are stripped, so newer clients can talk to this server', async (t) => {
  const parsed = ClientMessage.parse({ t: 'conserve', on: false, reason: 'battery' });
  t.same(parsed, { t: 'conserve', on: false });
});
