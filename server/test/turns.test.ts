import t from 'tap';
import { Turns } from '../src/turns.js';

/** A piece of work that ends when told to, noting when it started and ended. */
function gate(log: string[], name: string) {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const ends = new Promise<string>((resolve, reject) => {
    open = () => resolve(name);
    fail = reject;
  });
  const work = async () => {
    log.push(`${name} starts`);
    try {
      return await ends;
    } finally {
      log.push(`${name} ends`);
    }
  };
  return { work, open, fail };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

t.test('the work of one key runs one piece at a time, in the order asked, while other keys run alongside', async (t) => {
  const turns = new Turns();
  const log: string[] = [];
  const [a1, a2, b1] = [gate(log, 'a1'), gate(log, 'a2'), gate(log, 'b1')];
  const done = [turns.run('a', a1.work), turns.run('a', a2.work), turns.run('b', b1.work)];
  await settle();
  t.same(log, ['a1 starts', 'b1 starts'], 'the second piece of a waits; b does not');
  t.equal(turns.size, 2);
  a1.open();
  await settle();
  t.same(log.slice(2), ['a1 ends', 'a2 starts']);
  a2.open();
  b1.open();
  t.same(await Promise.all(done), ['a1', 'a2', 'b1'], 'each caller gets its own answer');
  await settle();
  t.equal(turns.size, 0, 'keys are forgotten once their work ends');
});

t.test('a piece that fails ends its turn too, and only its own caller hears of it', async (t) => {
  const turns = new Turns();
  const log: string[] = [];
  const [first, second] = [gate(log, 'first'), gate(log, 'second')];
  const failing = turns.run('a', first.work);
  const next = turns.run('a', second.work);
  first.fail(new Error('database gone'));
  await t.rejects(failing, { message: 'database gone' });
  second.open();
  t.equal(await next, 'second');
  await t.rejects(turns.run('a', () => { throw new Error('at once'); }), { message: 'at once' }, 'a piece that throws before it awaits is a rejection too');
  t.equal(await turns.run('a', async () => 'after'), 'after');
  await settle();
  t.equal(turns.size, 0);
});
