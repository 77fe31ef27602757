import fc from 'fast-check';
import t from 'tap';
import { orientations } from '@titrate/shared';
import { frameSizes } from '../../src/pantry/art.js';
import { cropWindow, fitFor, keepsSafeArea, orientationOf, type Master } from '../../src/pantry/fit.js';

const master = (width: number, height: number, safeArea = { x: 0.4, y: 0.3, width: 0.2, height: 0.4 }, focus = { x: 0.5, y: 0.5 }): Master => ({
  width, height, orientation: orientationOf(width, height), analysis: { palette: [], safeArea, focus },
});

t.test('orientation follows the aspect ratio, with a band around 1 counting as square', async (t) => {
  t.equal(orientationOf(1600, 900), 'landscape');
  t.equal(orientationOf(900, 1600), 'portrait');
  t.equal(orientationOf(1000, 1050), 'square');
});

t.test('a frame of the screen orientation is exact', async (t) => {
  t.same(fitFor(master(1280, 720), 'landscape'), { fit: 'exact', window: null });
});

t.test('a large landscape master crops to portrait around its subject', async (t) => {
  const photo = master(4000, 2250, { x: 0.2, y: 0.3, width: 0.1, height: 0.4 }, { x: 0.25, y: 0.5 });
  const plan = fitFor(photo, 'portrait');
  t.equal(plan.fit, 'crop');
  t.ok(keepsSafeArea(photo, plan.window!));
  t.equal(plan.window!.height, 2250);
  t.ok(Math.abs(plan.window!.width / plan.window!.height - 720 / 1280) < 0.01);
});

t.test('a master too small for the screen, or a subject wider than the window, is filled instead', async (t) => {
  t.equal(fitFor(master(1280, 720), 'portrait').fit, 'fill', '405 px wide would be enlarged 1.8×');
  t.equal(fitFor(master(4000, 2250, { x: 0.1, y: 0.1, width: 0.8, height: 0.8 }), 'portrait').fit, 'fill');
  t.equal(fitFor({ width: 4000, height: 2250, orientation: 'landscape', analysis: null }, 'square').fit, 'fill', 'without analysis the whole image is kept');
});

t.test('every crop window lies inside its master, has the screen aspect and keeps the safe area (property)', async () => {
  const unit = fc.double({ min: 0, max: 1, noNaN: true });
  fc.assert(
    fc.property(fc.integer({ min: 200, max: 8000 }), fc.integer({ min: 200, max: 8000 }), unit, unit, unit, unit, unit, unit, fc.constantFrom(...orientations),
      (width, height, x, y, w, h, fx, fy, screen) => {
        const safe = { x: x * (1 - w), y: y * (1 - h), width: w, height: h };
        const candidate = master(width, height, safe, { x: safe.x + fx * safe.width, y: safe.y + fy * safe.height });
        const window = cropWindow(candidate, screen);
        if (window === null) return true;
        const size = frameSizes[screen];
        return window.left >= 0 && window.top >= 0 && window.left + window.width <= width && window.top + window.height <= height &&
          Math.abs(window.width / window.height - size.width / size.height) < 0.02 + 2 / Math.min(window.width, window.height) &&
          keepsSafeArea(candidate, window);
      }),
  );
});
