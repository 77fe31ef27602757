import t from 'tap';
import { FrameDecider } from '../../src/decision/decider.js';
import { limits } from '../../src/limits.js';
import { PantryCatalog } from '../../src/pantry/catalog.js';
import { defaultCoverageRules } from '../../src/pantry/coverage.js';
import { nothingSeen } from '../../src/pantry/seen.js';

function decider(): FrameDecider {
  const catalog = new PantryCatalog();
  catalog.add({ id: 'f1', genre: 'techno', mood: 'dark', style: 'grid', orientation: 'landscape', width: 1280, height: 720, analysis: null });
  let next = 0;
  return new FrameDecider({
    catalog, fresh: null, random: () => 0.5, newId: () => `d${(next += 1)}`, freshCostMin: 1, coverage: defaultCoverageRules, observeCoverage: () => {},
  });
}

const input = { context: { genre: 'techno', mood: 'dark', energy: 0.5 }, orientation: 'landscape' as const, seen: nothingSeen };

t.test('decisions with the same reasons share one frozen list of them, kept for their replay windows', async (t) => {
  const frames = decider();
  const first = frames.fallback(input, 'generation_failed', 0.1, ['p 10%: library', ['thin ', 'library'].join('')])!;
  const second = frames.fallback(input, 'generation_failed', 0.1, ['p 10%: library', 'thin library'])!;
  t.equal(second.reasons, first.reasons, 'one list for equal reasons');
  t.ok(Object.isFrozen(first.reasons));
  t.equal(first.reasons[0], 'p 10%: library');
  const other = frames.fallback(input, 'generation_failed', 0.1, ['p 10%: library'])!;
  t.not(other.reasons, first.reasons, 'another list of reasons is another list');
  t.same(other.reasons.slice(0, 1), ['p 10%: library']);
});

t.test('lists whose texts run into each other stay apart', async (t) => {
  const frames = decider();
  const joined = frames.fallback(input, 'generation_failed', 0.1, ['ab', 'c'])!;
  const split = frames.fallback(input, 'generation_failed', 0.1, ['a', 'bc'])!;
  t.not(joined.reasons, split.reasons);
  t.same([joined.reasons[0], joined.reasons[1], split.reasons[0], split.reasons[1]], ['ab', 'c', 'a', 'bc']);
});

t.test('the pool of lists never grows past its bound and still answers every list', async (t) => {
  const frames = decider();
  const wrong: number[] = [];
  for (let index = 0; index < limits.reasonListsMax + 10; index += 1) {
    if (frames.fallback(input, 'generation_failed', 0.1, [`p ${index}`])!.reasons[0] !== `p ${index}`) wrong.push(index);
  }
  t.same(wrong, [], 'every decision kept its own reasons past the bound');
  const again = frames.fallback(input, 'generation_failed', 0.1, [`p ${limits.reasonListsMax + 9}`])!;
  t.equal(again.reasons, frames.fallback(input, 'generation_failed', 0.1, [`p ${limits.reasonListsMax + 9}`])!.reasons, 'and lists are shared again after it started over');
});
