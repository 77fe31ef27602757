import t from 'tap';
import { Coalescer } from '../src/db/coalesce.js';

/** A scheduler whose window the test ends by hand. */
function manualWindow() {
  const due: Array<() => void> = [];
  return { schedule: (run: () => void) => void due.push(run), close: () => due.splice(0).forEach((run) => run()), pending: () => due.length };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

t.test('what is asked within one window is one batch, one item per key, the latest ask winning', async (t) => {
  const window = manualWindow();
  const batches: string[][] = [];
  const coalescer = new Coalescer<string>(async (batch) => void batches.push(batch), { batchMax: 10, schedule: window.schedule });
  coalescer.add('ada', 'ada-1');
  coalescer.add('bo', 'bo-1');
  coalescer.add('ada', 'ada-2');
  t.equal(window.pending(), 1, 'one window for all of them');
  t.same(batches, [], 'nothing leaves before the window ends');
  window.close();
  t.same(batches, [['ada-2', 'bo-1']]);
  t.equal(coalescer.waiting, 0);
});

t.test('a backlog leaves in full batches, one per turn, without waiting a window each', async (t) => {
  const window = manualWindow();
  const batches: number[][] = [];
  const coalescer = new Coalescer<number>(async (batch) => void batches.push(batch), { batchMax: 3, schedule: window.schedule });
  for (let index = 0; index < 8; index += 1) coalescer.add(`u${index}`, index);
  window.close();
  t.same(batches, [[0, 1, 2]], 'the window ends with one full batch');
  await turn();
  t.same(batches, [[0, 1, 2], [3, 4, 5]], 'the next full batch goes on the next turn');
  await turn();
  t.equal(batches.length, 2, 'what is left, less than a batch, waits for a window');
  t.equal(window.pending(), 1);
  window.close();
  t.same(batches.at(-1), [6, 7]);
});
