import t from 'tap';
import { authVerdictOf, httpBaseOf, resolveUrl, streamUrlWithToken } from '../src/endpoints.js';
import { Pacer } from '../src/pacer.js';
import { IdSource } from '../src/ids.js';

t.test('the HTTP base comes from the stream URL: ws → http, wss → https, same host and prefix', async (t) => {
  t.equal(httpBaseOf('ws://127.0.0.1:8080/v1/stream'), 'http://127.0.0.1:8080');
  t.equal(httpBaseOf('wss://titrate.example/v1/stream'), 'https://titrate.example');
  t.equal(httpBaseOf('wss://example.com/titrate/v1/stream?x=1'), 'https://example.com/titrate');
  t.throws(() => httpBaseOf('http://example.com/v1/stream'), TypeError);
});

t.test('the token travels in the query, other parameters kept', async (t) => {
  t.equal(streamUrlWithToken('ws://h:1/v1/stream?device=tv', 'a.b c'), 'ws://h:1/v1/stream?device=tv&token=a.b+c');
  t.equal(new URL(streamUrlWithToken('ws://h:1/v1/stream?token=old', 'new')).searchParams.getAll('token').join(), 'new');
});

t.test('frame URLs resolve against the server', async (t) => {
  t.equal(resolveUrl('http://h:8080', '/v1/frames/abc'), 'http://h:8080/v1/frames/abc');
  t.equal(resolveUrl('https://cdn.example', 'https://images.example/x.webp'), 'https://images.example/x.webp');
});

t.test('the auth check refuses on 401 and 403 only', async (t) => {
  t.same([200, 401, 403, 404, 500, 503].map(authVerdictOf), ['accepted', 'refused', 'refused', 'unknown', 'unknown', 'unknown']);
});

t.test('the SDK paces its sends: a burst, then the rate', async (t) => {
  const pacer = new Pacer(20, 3, 0);
  t.same([pacer.take(0), pacer.take(0), pacer.take(0), pacer.take(0)], [true, true, true, false]);
  t.equal(pacer.waitMs(0), 50);
  t.equal(pacer.take(50), true);
});

t.test('request ids are unique within a client and differ between clients', async (t) => {
  const first = new IdSource(Math.random);
  const ids = new Set(Array.from({ length: 1000 }, () => first.next('n')));
  t.equal(ids.size, 1000);
  t.not(new IdSource(() => 0.1).next('n'), new IdSource(() => 0.9).next('n'));
  t.ok([...ids].every((id) => id.length <= 64));
});
