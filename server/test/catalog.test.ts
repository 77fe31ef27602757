import t from 'tap';
import type { Orientation } from '@titrate/shared';
import { PantryCatalog, normaliseLabel, type CatalogFrame } from '../src/pantry/catalog.js';
import { seededRandom } from '../src/pantry/art.js';

function frame(id: string, genre: string, mood: string, style: string, orientation: Orientation = 'landscape'): CatalogFrame {
  return { id, genre, mood, style, orientation, width: 1280, height: 720 };
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

t.test('a context maps to its exact bucket when it has frames for the orientation', async (t) => {
  const catalog = catalogWith([frame('f1', 'techno', 'dark', 'grid'), frame('f2', 'jazz', 'calm', 'waves')]);
  t.same(catalog.resolve(context('Techno', 'DARK'), 'landscape'), { genre: 'techno', mood: 'dark', orientation: 'landscape', exact: true });
});

t.test('unknown genres and moods map through aliases, then by energy', async (t) => {
  const catalog = catalogWith([
    frame('a', 'hiphop', 'melancholic', 'rings'),
    frame('b', 'ambient', 'calm', 'nebula'),
    frame('c', 'techno', 'energetic', 'grid'),
  ]);
  t.match(catalog.resolve(context('rap', 'sad'), 'landscape'), { genre: 'hiphop', mood: 'melancholic', exact: false });
  t.match(catalog.resolve(context('gregorian chant', 'contemplative', 0.1), 'landscape'), { genre: 'ambient', mood: 'calm' });
  t.match(catalog.resolve(context('polka', 'wild', 0.95), 'landscape'), { genre: 'techno', mood: 'energetic' });
});

t.test('an orientation without frames resolves to nothing rather than the wrong shape', async (t) => {
  const catalog = catalogWith([frame('f1', 'techno', 'dark', 'grid', 'landscape')]);
  t.equal(catalog.resolve(context('techno', 'dark'), 'portrait'), null);
  t.equal(catalog.pick(context('techno', 'dark'), 'portrait', [], Math.random), null);
});

t.test('frames are not repeated until every frame of the bucket was seen', async (t) => {
  const frames = ['a', 'b', 'c', 'd'].map((id, index) => frame(id, 'house', 'uplifting', `style${index % 2}`));
  const catalog = catalogWith(frames);
  const random = seededRandom(7);
  const seen: string[] = [];
  for (let round = 0; round < 4; round += 1) {
    const pick = catalog.pick(context('house', 'uplifting'), 'landscape', seen, random)!;
    t.notOk(seen.includes(pick.frame.id), `pick ${round + 1} is new`);
    t.equal(pick.repeated, false);
    seen.push(pick.frame.id);
  }
  const fifth = catalog.pick(context('house', 'uplifting'), 'landscape', seen, random)!;
  t.equal(fifth.repeated, true);
  t.equal(fifth.frame.id, seen[0], 'the frame seen longest ago comes back first');
});

t.test('among unseen frames the styles seen least come first', async (t) => {
  const catalog = catalogWith([
    frame('grid1', 'rock', 'dark', 'grid'),
    frame('grid2', 'rock', 'dark', 'grid'),
    frame('rings1', 'rock', 'dark', 'rings'),
  ]);
  const pick = catalog.pick(context('rock', 'dark'), 'landscape', ['grid1'], seededRandom(1))!;
  t.equal(pick.frame.id, 'rings1');
});

t.test('adding the same frame twice indexes it once', async (t) => {
  const catalog = catalogWith([frame('a', 'jazz', 'calm', 'waves'), frame('a', 'jazz', 'calm', 'waves')]);
  t.equal(catalog.size, 1);
  t.equal(catalog.framesIn({ genre: 'jazz', mood: 'calm', orientation: 'landscape' }).length, 1);
});
