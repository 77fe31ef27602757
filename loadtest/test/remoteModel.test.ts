import sharp from 'sharp';
import t from 'tap';
import { normaliseImage } from '../../server/src/generation/providers/normalise.js';
import { StableDiffusionProvider } from '../../server/src/generation/providers/sd.js';
import { startRemoteModel } from '../src/remoteModel.js';

const request = (seed: number) => ({
  prompt: 'neon techno lights', negativePrompt: 'text', width: 1280, height: 720, seed, style: 'nebula', genre: 'techno', mood: 'energetic', energy: 0.7,
  orientation: 'landscape' as const, model: { id: 'sd-fast', grade: 'cheap' as const, providerModel: 'sdxl-turbo', credits: 1, usd: 0.0015, steps: 12, quality: 'standard' as const },
});

t.test('the remote model stand-in answers the Stable Diffusion provider with a picture of the size asked, which the normaliser accepts', async (t) => {
  const model = await startRemoteModel({ latencyMs: [5, 10], picturesPerSize: 2, sizes: [{ width: 1024, height: 576 }] });
  t.teardown(() => model.stop());
  const provider = new StableDiffusionProvider({ baseUrl: model.url });
  for (const seed of [1, 2]) {
    const image = await provider.generate(request(seed), new AbortController().signal);
    const metadata = await sharp(image.data).metadata();
    t.same([metadata.format, metadata.width, metadata.height], ['webp', 1024, 576], 'the size Stable Diffusion is asked for a 1280×720 frame');
    const frame = await sharp((await normaliseImage(image.data, 1280, 720)).data).metadata();
    t.same([frame.format, frame.width, frame.height], ['webp', 1280, 720]);
  }
  t.same(model.stats(), { answered: 2, refused: 0 });
});

t.test('the remote model stand-in refuses what it does not serve: other routes, bodies that are not JSON, sizes out of range, bodies too long', async (t) => {
  const model = await startRemoteModel({ latencyMs: [0, 0] });
  t.teardown(() => model.stop());
  const post = (path: string, body: string) => fetch(`${model.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  t.equal((await post('/sdapi/v1/img2img', '{}')).status, 404);
  t.equal((await post('/sdapi/v1/txt2img', 'not json')).status, 400);
  const tooWide = await post('/sdapi/v1/txt2img', JSON.stringify({ width: 100_000, height: 720 }));
  t.equal(tooWide.status, 400);
  t.match(await tooWide.text(), /width/);
  t.equal((await post('/sdapi/v1/txt2img', JSON.stringify({ width: 512, height: 512, pad: 'x'.repeat(100_000) }))).status, 413);
  t.same(model.stats(), { answered: 0, refused: 4 });
});

t.test('a latency range that is not one, or a number of pictures out of bounds, is refused when the stand-in starts', async (t) => {
  await t.rejects(startRemoteModel({ latencyMs: [500, 100] }), RangeError);
  await t.rejects(startRemoteModel({ latencyMs: [-1, 100] }), RangeError);
  await t.rejects(startRemoteModel({ latencyMs: [0, 0], picturesPerSize: 0 }), RangeError);
  await t.rejects(startRemoteModel({ latencyMs: [0, 0], picturesPerSize: 1000 }), RangeError);
});
