import t from 'tap';
import type { Orientation } from '@titrate/shared';
import { PantryCatalog, normaliseLabel, type CatalogFrame } from '../src/pantry/catalog.js';
import { nothingSeen, seenInOrder } from '../src/pantry/seen.js';
import { seededRandom } from '../src/pantry/art.js';
import { variantIdOf } from '../src/pantry/variants.js';

const sizes = { landscape: [1280, 720], portrait: [720, 1280], square: [960, 960] } as const;
/** A subject in the middle: a 9:16 window of a square keeps it. */
const centred = { palette: [], safeArea: { x: 0.35, y: 0.2, width: 0.3, height: 0.6 }, focus: { x: 0.5, y: 0.5 } };

function frame(id: string, genre: string, mood: string, style: string, orientation: Orientation = 'landscape'): CatalogFrame {
  const [width, height] = sizes[orientation];
  return { id, genre, mood, style, orientation, width, height, analysis: null };
}

function catalogWith(frames: CatalogFrame[]): PantryCatalog {
  const catalog = new PantryCatalog();
  for (const item of frames) catalog.add(item);
  return catalog;
}

const context = (genre: string, mood: string, energy = 0.5) => ({ genre, mood, energy });

t.test('labels are compared without case, spaces or punctuation', async (t) => {
  t.equal(normaliseLabel('Hip-Hop'), 'hiphop');
  t.equal(normaliseLabel(' Deep House '), 'deephouse');
});

t.test('a context maps to its own group when it has frames', async (t) => {
  const catalog = catalogWith([frame('f1', 'techno', 'dark', 'grid'), frame('f2', 'jazz', 'calm', 'waves')]);
  t.same(catalog.resolve(context('Techno', 'DARK')), { genre: 'techno', mood: 'dark', exact: true });
});

t.test('unknown genres and moods map through aliases, then by energy', async (t) => {
  const catalog = catalogWith([
    frame('a', 'hiphop', 'melancholic', 'rings'),
    frame('b', 'ambient', 'calm', 'nebula'),
    frame('c', 'techno', 'energetic', 'grid'),
  ]);
  t.match(catalog.resolve(context('rap', 'sad')), { genre: 'hiphop', mood: 'melancholic', exact: false });
  t.match(catalog.resolve(context('gregorian chant', 'contemplative', 0.1)), { genre: 'ambient', mood: 'calm' });
  t.match(catalog.resolve(context('polka', 'wild', 0.95)), { genre: 'techno', mood: 'energetic' });
});

t.test("a session's frozen context keeps its group until the catalog changes, then maps anew", async (t) => {
  const catalog = catalogWith([frame('f1', 'house', 'calm', 'grid')]);
  const track = Object.freeze(context('techno', 'dark', 0.9));
  t.match(catalog.resolve(track), { genre: 'house', mood: 'calm', exact: false });
  t.equal(catalog.resolve(track), catalog.resolve(track), 'one resolution for the track');
  t.equal(catalog.choose(track, 'landscape', nothingSeen, seededRandom(1))?.frame.id, 'f1');
  catalog.add(frame('f2', 'techno', 'dark', 'waves'));
  t.same(catalog.resolve(track), { genre: 'techno', mood: 'dark', exact: true }, 'a frame of its own group was added since');
  t.equal(catalog.choose(track, 'landscape', nothingSeen, seededRandom(1))?.frame.id, 'f2');
  const changing = context('techno', 'dark');
  t.match(catalog.resolve(changing), { genre: 'techno' });
  changing.genre = 'house';
  changing.mood = 'calm';
  t.match(catalog.resolve(changing), { genre: 'house', mood: 'calm' }, 'a context that can change is resolved every time');
});

t.test('an empty catalog chooses nothing', async (t) => {
  const catalog = new PantryCatalog();
  t.equal(catalog.resolve(context('techno', 'dark')), null);
  t.equal(catalog.choose(context('techno', 'dark'), 'portrait', nothingSeen, Math.random), null);
});

t.test('a screen takes its own orientation first, then crops, then fills', async (t) => {
  const big: CatalogFrame = { ...frame('big-square', 'techno', 'dark', 'grid', 'square'), width: 2000, height: 2000, analysis: centred };
  const catalog = catalogWith([frame('land', 'techno', 'dark', 'grid', 'landscape'), big, frame('port', 'techno', 'dark', 'rings', 'portrait')]);
  const seen: string[] = [];
  const fits: string[] = [];
  const served: string[] = [];
  for (let round = 0; round < 3; round += 1) {
    const choice = catalog.choose(context('techno', 'dark'), 'portrait', seenInOrder(seen), seededRandom(round))!;
    fits.push(`${choice.frame.id}:${choice.plan.fit}`);
    served.push(choice.servedId);
    seen.push(choice.frame.id);
  }
  t.same(fits, ['port:exact', 'big-square:crop', 'land:fill'], 'a 1280×720 master is too small to crop for a 720×1280 screen');
  t.same(served, ['port', variantIdOf('big-square', 'portrait', 'crop'), variantIdOf('land', 'portrait', 'fill')], 'the player fetches an exact frame itself, an adapted one as its variant');
});

t.test('coverage counts unseen exact and croppable frames and their styles, not fills', async (t) => {
  const catalog = catalogWith([
    frame('p1', 'house', 'calm', 'grid', 'portrait'),
    frame('p2', 'house', 'calm', 'waves', 'portrait'),
    { ...frame('s1', 'house', 'calm', 'rings', 'square'), width: 1800, height: 1800, analysis: centred },
    { ...frame('s2', 'house', 'calm', 'rings', 'square'), width: 1800, height: 1800 },
    frame('l1', 'house', 'calm', 'nebula', 'landscape'),
  ]);
  const choice = catalog.choose(context('house', 'calm'), 'portrait', seenInOrder(['p1']), seededRandom(3))!;
  t.same(choice.coverage, { total: 3, unseen: 2, styles: 2, exactUnseen: 1 }, 'a square without a known safe area only fills');
});

t.test('frames are not repeated until every frame of the bucket was seen', async (t) => {
  const frames = ['a', 'b', 'c', 'd'].map((id, index) => frame(id, 'house', 'uplifting', `style${index % 2}`));
  const catalog = catalogWith(frames);
  const random = seededRandom(7);
  const seen: string[] = [];
  for (let round = 0; round < 4; round += 1) {
    const pick = catalog.choose(context('house', 'uplifting'), 'landscape', seenInOrder(seen), random)!;
    t.notOk(seen.includes(pick.frame.id), `pick ${round + 1} is new`);
    t.equal(pick.repeated, false);
    seen.push(pick.frame.id);
  }
  const fifth = catalog.choose(context('house', 'uplifting'), 'landscape', seenInOrder(seen), random)!;
  t.equal(fifth.repeated, true);
  t.equal(fifth.frame.id, seen[0], 'the frame seen longest ago comes back first');
});

t.test('among unseen frames the styles seen least come first', async (t) => {
  const catalog = catalogWith([
    frame('grid1', 'rock', 'dark', 'grid'),
    frame('grid2', 'rock', 'dark', 'grid'),
    frame('rings1', 'rock', 'dark', 'rings'),
  ]);
  const pick = catalog.choose(context('rock', 'dark'), 'landscape', seenInOrder(['grid1']), seededRandom(1))!;
  t.equal(pick.frame.id, 'rings1');
});

t.test('adding the same frame twice indexes it once', async (t) => {
  const catalog = catalogWith([frame('a', 'jazz', 'calm', 'waves'), frame('a', 'jazz', 'calm', 'waves')]);
  t.equal(catalog.size, 1);
  t.equal(catalog.framesIn({ genre: 'jazz', mood: 'calm', orientation: 'landscape' }).length, 1);
});
