import t from 'tap';
import { normaliseImage } from '../../server/src/generation/providers/normalise.js';
import { StableDiffusionProvider } from '../../server/src/generation/providers/sd.js';
import { startRemoteModel } from '../src/remoteModel.js';

const request = (seed: number) => ({
  prompt: 'neon techno lights', negativePrompt: 'text', width: 1280, height: 720, seed, style: 'nebula', genre: 'techno', mood: 'energetic', energy: 0.7,
  orientation: 'landscape' as const, model: { id: 'sd-fast', grade: 'cheap' as const, providerModel: 'sdxl-turbo', credits: 1, usd: 0.0015, steps: 12, quality: 'standard' as const },
});

t.test("the remote model stand-in answers the Stable Diffusion provider with a picture the normaliser accepts, after the model's latency", async (t) => {
  const model = await startRemoteModel({ latencyMs: [120, 150], picturesPerSize: 2 });
  t.teardown(() => model.stop());
  const provider = new StableDiffusionProvider({ baseUrl: model.url });
  await provider.generate(request(1), new AbortController().signal); // draws the pictures of this size
  const started = performance.now();
  const image = await provider.generate(request(2), new AbortController().signal);
  t.ok(performance.now() - started >= 115, 'not before the latency has passed');
  const frame = await normaliseImage(image.data, 1280, 720);
  t.equal(frame.width, 1280);
  t.same(model.stats(), { answered: 2, refused: 0 });
});

t.test('the remote model stand-in refuses what the WebUI would: other routes, bodies that are not JSON, sizes out of range', async (t) => {
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

t.test('a latency range that is not one is refused when the stand-in starts', async (t) => {
  await t.rejects(startRemoteModel({ latencyMs: [500, 100] }), RangeError);
  await t.rejects(startRemoteModel({ latencyMs: [-1, 100] }), RangeError);
});
