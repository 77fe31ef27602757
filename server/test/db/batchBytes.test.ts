import fc from 'fast-check';
import t from 'tap';
import { BatchBytes } from '../../src/db/batched.js';

/** What PostgreSQL reads from a batch's binary `jsonb`: the format version, and the text after it. */
function read(value: Buffer): { version: number; rows: unknown } {
  return { version: value[0]!, rows: JSON.parse(value.subarray(1).toString('utf8')) };
}

t.test('a batch with no rows is an empty JSON array after the format version', async (t) => {
  t.same(read(new BatchBytes(64).seal()), { version: 1, rows: [] });
});

t.test('rows are the elements of one JSON array, in the order they were added', async (t) => {
  const batch = new BatchBytes(1024);
  batch.add('[1,"a",null]');
  batch.add('{"b":true}');
  t.equal(batch.rows, 2);
  t.same(read(batch.seal()), { version: 1, rows: [[1, 'a', null], { b: true }] });
});

t.test('a batch grows past its capacity and keeps every byte written before', async (t) => {
  const batch = new BatchBytes(64);
  const long = JSON.stringify('x'.repeat(5_000));
  for (let index = 0; index < 10; index += 1) batch.add(index % 2 === 0 ? long : `${index}`);
  const { rows } = read(batch.seal());
  t.same(rows, Array.from({ length: 10 }, (_, index) => (index % 2 === 0 ? 'x'.repeat(5_000) : index)));
});

t.test('text beyond ASCII is written as UTF-8 whatever the batch has room for', async (t) => {
  // Two-, three- and four-byte characters, at capacities where the exact size decides whether a row fits.
  const texts = ['×1.45', 'Ünïcödé', '—', '🎧 late set', 'a\u0000b'];
  for (const capacity of [64, 70, 80, 100, 200]) {
    const batch = new BatchBytes(capacity);
    for (const text of texts) batch.add(JSON.stringify([text]));
    t.same(read(batch.seal()).rows, texts.map((text) => [text]), `capacity ${capacity}`);
  }
});

t.test('any rows of JSON values read back as themselves', async (t) => {
  const result = fc.check(
    fc.property(fc.nat({ max: 512 }), fc.array(fc.jsonValue(), { maxLength: 40 }), (capacity, values) => {
      const batch = new BatchBytes(capacity);
      for (const value of values) batch.add(JSON.stringify(value));
      const { version, rows } = read(batch.seal());
      // Compared as JSON texts: JSON has no negative zero, so a -0 is read back as 0.
      return version === 1 && batch.rows === values.length && JSON.stringify(rows) === JSON.stringify(values);
    }),
  );
  t.notOk(result.failed, fc.defaultReportMessage(result) ?? 'every batch read back');
});
