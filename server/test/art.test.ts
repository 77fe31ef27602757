import sharp from 'sharp';
import t from 'tap';
import { frameSizes, renderArtSvg } from '../src/pantry/art.js';
import { demoRequests, renderArt } from '../src/pantry/demo.js';

const base = { genre: 'techno', mood: 'energetic', style: 'grid' as const, energy: 0.8, orientation: 'landscape' as const, seed: 's' };

t.test('the same request draws the same picture', async (t) => {
  t.equal(renderArtSvg(base).svg, renderArtSvg({ ...base }).svg);
});

t.test('genre, mood, style, energy and seed each change the picture', async (t) => {
  const reference = renderArtSvg(base).svg;
  t.not(renderArtSvg({ ...base, genre: 'jazz' }).svg, reference);
  t.not(renderArtSvg({ ...base, mood: 'calm' }).svg, reference);
  t.not(renderArtSvg({ ...base, style: 'waves' }).svg, reference);
  t.not(renderArtSvg({ ...base, energy: 0.1 }).svg, reference);
  t.not(renderArtSvg({ ...base, seed: 'other' }).svg, reference);
});

t.test('renders a real image at the orientation size, not a solid fill', async (t) => {
  for (const orientation of ['landscape', 'portrait', 'square'] as const) {
    const { data, width, height } = await renderArt({ ...base, orientation });
    const metadata = await sharp(data).metadata();
    t.same({ format: metadata.format, width: metadata.width, height: metadata.height }, { format: 'webp', ...frameSizes[orientation] });
    t.same({ width, height }, frameSizes[orientation]);
    const stats = await sharp(data).stats();
    t.ok(stats.channels.some((channel) => channel.stdev > 10), `${orientation} has visible structure`);
  }
});

t.test('a dark mood renders darker than an uplifting one', async (t) => {
  const mean = async (mood: string) => {
    const { data } = await renderArt({ ...base, style: 'nebula', mood });
    const stats = await sharp(data).stats();
    return stats.channels.slice(0, 3).reduce((sum, channel) => sum + channel.mean, 0) / 3;
  };
  t.ok((await mean('dark')) < (await mean('uplifting')));
});

t.test('the demo plan covers every bucket with several styles', async (t) => {
  const requests = demoRequests({ genres: ['techno', 'jazz'], moods: ['calm', 'dark'], orientations: ['landscape', 'portrait', 'square'], perBucket: 4 });
  t.equal(requests.length, 2 * 2 * 3 * 4);
  const stylesPerBucket = new Map<string, Set<string>>();
  for (const request of requests) {
    const key = `${request.genre}|${request.mood}|${request.orientation}`;
    stylesPerBucket.set(key, (stylesPerBucket.get(key) ?? new Set()).add(request.style));
  }
  t.ok([...stylesPerBucket.values()].every((styles) => styles.size === 4));
});
