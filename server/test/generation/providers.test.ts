import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import sharp from 'sharp';
import t from 'tap';
import { defaultModels, type ModelSpec } from '../../src/generation/models.js';
import { decodeBase64Image, parseRetryAfterMs, postJson } from '../../src/generation/providers/http.js';
import { createProvider } from '../../src/generation/providers/index.js';
import { providerLimits } from '../../src/generation/providers/limits.js';
import { LocalProvider, localRenderPlan } from '../../src/generation/providers/local.js';
import { largestChannelDeviation, normaliseImage } from '../../src/generation/providers/normalise.js';
import { OpenAIProvider } from '../../src/generation/providers/openai.js';
import { ProviderError, type ImageProvider, type ImageRequest } from '../../src/generation/providers/provider.js';
import { StableDiffusionProvider } from '../../src/generation/providers/sd.js';
import { frameSizes } from '../../src/pantry/art.js';
import { FakeImageApi, type FakeBehaviour } from '../support/fakeImageApi.js';

const apiKey = 'sk-test-0123456789abcdefSECRET';
const [localDetailed, localSketch] = defaultModels.local as [ModelSpec, ModelSpec];
const [dallE3, dallE2] = defaultModels.openai as [ModelSpec, ModelSpec];
const [sdQuality] = defaultModels.sd as [ModelSpec, ModelSpec];

function imageRequest(overrides: Partial<ImageRequest> = {}): ImageRequest {
  return {
    prompt: 'a neon grid under a magenta sun, synthwave',
    negativePrompt: 'text, watermark, people',
    model: localDetailed,
    ...frameSizes.landscape,
    orientation: 'landscape',
    seed: 42,
    genre: 'techno',
    mood: 'energetic',
    style: 'grid',
    energy: 0.8,
    ...overrides,
  };
}

const never = () => new AbortController().signal;

/** Runs `generate` and returns the ProviderError it throws (fails the test if it succeeds or throws anything else). */
async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error('expected a ProviderError, but the call succeeded');
}

/** How far apart two same-sized pictures are: the mean absolute difference per channel, 0–255. */
async function meanAbsoluteDifference(first: Buffer, second: Buffer): Promise<number> {
  const [left, right] = await Promise.all([first, second].map((data) => sharp(data).removeAlpha().raw().toBuffer()));
  let sum = 0;
  for (let index = 0; index < left!.length; index += 1) sum += Math.abs(left![index]! - right![index]!);
  return sum / left!.length;
}

async function freePortWithNothingListening(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

t.test('the local provider', async (t) => {
  const local = new LocalProvider();

  t.test('gives the same bytes for the same request', async (t) => {
    const first = await local.generate(imageRequest(), never());
    const second = await local.generate(imageRequest(), never());
    t.ok(first.data.equals(second.data));
  });

  t.test('draws a different picture for a different genre, mood, style or energy', async (t) => {
    const reference = (await local.generate(imageRequest(), never())).data;
    for (const change of [{ genre: 'jazz' }, { mood: 'calm' }, { style: 'rings' }, { energy: 0.1 }, { seed: 7 }]) {
      const changed = (await local.generate(imageRequest(change), never())).data;
      t.notOk(changed.equals(reference), `${JSON.stringify(change)} changes the picture`);
    }
  });

  t.test('picks an unknown style from the seed, the same way every time', async (t) => {
    const plan = localRenderPlan(imageRequest({ style: 'baroque', seed: 3 }));
    t.equal(localRenderPlan(imageRequest({ style: 'baroque', seed: 3 })).style, plan.style);
    const styles = new Set(Array.from({ length: 20 }, (_, seed) => localRenderPlan(imageRequest({ style: 'baroque', seed })).style));
    t.ok(styles.size > 1, 'different seeds reach different styles');
  });

  t.test('normalises to exactly the frame size of each orientation', async (t) => {
    const cases = (['landscape', 'portrait', 'square'] as const).flatMap((orientation) => [localDetailed, localSketch].map((model) => ({ orientation, model })));
    const frames = await Promise.all(
      cases.map(async ({ orientation, model }) => {
        const size = frameSizes[orientation];
        const { data } = await local.generate(imageRequest({ orientation, ...size, model }), never());
        return normaliseImage(data, size.width, size.height);
      }),
    );
    for (const [index, { orientation, model }] of cases.entries()) {
      const frame = frames[index]!;
      const metadata = await sharp(frame.data).metadata();
      t.same({ format: metadata.format, width: metadata.width, height: metadata.height }, { format: 'webp', ...frameSizes[orientation] }, `${orientation} ${model.id}`);
      t.equal(frame.contentType, 'image/webp');
    }
  });

  t.test('renders the sketch grade at half size, so it differs visibly once scaled to the frame', async (t) => {
    const request = imageRequest({ style: 'grid' });
    const detailed = (await local.generate({ ...request, model: localDetailed }, never())).data;
    const sketch = (await local.generate({ ...request, model: localSketch }, never())).data;
    t.equal((await sharp(detailed).metadata()).width, 1280);
    t.equal((await sharp(sketch).metadata()).width, 640);
    const detailedFrame = await normaliseImage(detailed, 1280, 720);
    const sketchFrame = await normaliseImage(sketch, 1280, 720);
    const difference = await meanAbsoluteDifference(detailedFrame.data, sketchFrame.data);
    t.ok(difference > 3, `the grades differ by ${difference.toFixed(2)} levels per pixel on average`);
  });

  t.test('refuses to start when the signal has already aborted', async (t) => {
    const controller = new AbortController();
    controller.abort();
    t.equal((await providerError(local.generate(imageRequest(), controller.signal))).kind, 'timeout');
  });

  t.test('stops a simulated slow render as soon as the signal aborts', async (t) => {
    const slow = new LocalProvider({ delayMs: 10_000 });
    const controller = new AbortController();
    const pending = providerError(slow.generate(imageRequest(), controller.signal));
    setTimeout(() => controller.abort(), 20);
    const startedMs = Date.now();
    t.equal((await pending).kind, 'timeout');
    t.ok(Date.now() - startedMs < 2_000, 'returns promptly');
  });

  t.test('refuses a delay beyond its limit', async (t) => {
    t.throws(() => new LocalProvider({ delayMs: providerLimits.localDelayMsMax + 1 }), RangeError);
  });
});

t.test('the OpenAI provider', async (t) => {
  const fake = await FakeImageApi.start(t);
  const openai = new OpenAIProvider({ baseUrl: fake.url, apiKey });

  t.test('sends the documented request and returns a valid image', async (t) => {
    const before = fake.requests.length;
    const { data } = await openai.generate(imageRequest({ model: dallE3 }), never());
    const recorded = fake.requests[before]!;
    t.equal(recorded.path, '/v1/images/generations');
    t.equal(recorded.headers.authorization, `Bearer ${apiKey}`);
    t.match(recorded.headers['content-type'], /application\/json/);
    t.same(recorded.body, { model: 'dall-e-3', prompt: imageRequest().prompt, n: 1, size: '1792x1024', response_format: 'b64_json', quality: 'standard' });
    const frame = await normaliseImage(data, 1280, 720);
    t.same({ width: frame.width, height: frame.height }, { width: 1280, height: 720 });
  });

  t.test('asks each model for the size closest to the orientation', async (t) => {
    const expected: Array<[ModelSpec, 'landscape' | 'portrait' | 'square', string]> = [
      [dallE3, 'landscape', '1792x1024'],
      [dallE3, 'portrait', '1024x1792'],
      [dallE3, 'square', '1024x1024'],
      [dallE2, 'landscape', '1024x1024'],
      [dallE2, 'portrait', '1024x1024'],
      [{ ...dallE3, id: 'gpt-image', providerModel: 'gpt-image-1' }, 'landscape', '1536x1024'],
      [{ ...dallE3, id: 'gpt-image', providerModel: 'gpt-image-1' }, 'portrait', '1024x1536'],
    ];
    for (const [model, orientation, size] of expected) {
      const before = fake.requests.length;
      await openai.generate(imageRequest({ model, orientation, ...frameSizes[orientation] }), never());
      t.match(fake.requests[before]!.body, { model: model.providerModel, size }, `${model.providerModel} ${orientation}`);
    }
  });

  t.test('sends no response_format to gpt-image models, which always answer in base64', async (t) => {
    const before = fake.requests.length;
    await openai.generate(imageRequest({ model: { ...dallE3, id: 'gpt-image', providerModel: 'gpt-image-1', quality: 'hd' } }), never());
    const body = fake.requests[before]!.body as Record<string, unknown>;
    t.notOk('response_format' in body);
    t.equal(body['quality'], 'high');
  });

  t.test('sends no quality to dall-e-2, which has only one', async (t) => {
    const before = fake.requests.length;
    await openai.generate(imageRequest({ model: dallE2 }), never());
    t.notOk('quality' in (fake.requests[before]!.body as Record<string, unknown>));
  });
});

t.test('the Stable Diffusion provider', async (t) => {
  const fake = await FakeImageApi.start(t);
  const sd = new StableDiffusionProvider({ baseUrl: `${fake.url}/` });

  t.test('sends the documented request and returns a valid image', async (t) => {
    const before = fake.requests.length;
    const request = imageRequest({ model: sdQuality, seed: 123_456 });
    const { data } = await sd.generate(request, never());
    const recorded = fake.requests[before]!;
    t.equal(recorded.path, '/sdapi/v1/txt2img');
    t.equal(recorded.headers.authorization, undefined);
    t.same(recorded.body, {
      prompt: request.prompt,
      negative_prompt: request.negativePrompt,
      width: 1024,
      height: 576,
      steps: 30,
      seed: 123_456,
      cfg_scale: 7,
      sampler_name: 'DPM++ 2M',
      batch_size: 1,
      n_iter: 1,
    });
    const frame = await normaliseImage(data, 1280, 720);
    t.same({ width: frame.width, height: frame.height }, { width: 1280, height: 720 });
  });

  t.test('asks for sides that are multiples of 8 with the long side at most 1024', async (t) => {
    for (const size of [frameSizes.landscape, frameSizes.portrait, frameSizes.square, { width: 1000, height: 563 }, { width: 3000, height: 1001 }]) {
      const before = fake.requests.length;
      await sd.generate(imageRequest({ model: sdQuality, ...size }), never());
      const body = fake.requests[before]!.body as { width: number; height: number };
      t.ok(body.width % 8 === 0 && body.height % 8 === 0, `${body.width}×${body.height} for ${size.width}×${size.height}`);
      t.ok(Math.max(body.width, body.height) <= 1024);
      t.ok(Math.abs(body.width / body.height - size.width / size.height) < 0.05, 'keeps the shape');
    }
  });

  t.test('takes the steps from the model and a seed the WebUI never reads as random', async (t) => {
    const before = fake.requests.length;
    await sd.generate(imageRequest({ model: { ...sdQuality, steps: 12 }, seed: -1 }), never());
    t.match(fake.requests[before]!.body, { steps: 12, seed: 4_294_967_295 });
  });
});

t.test('provider failures', async (t) => {
  const fake = await FakeImageApi.start(t);
  const providers: ImageProvider[] = [
    new OpenAIProvider({ baseUrl: fake.url, apiKey }),
    new StableDiffusionProvider({ baseUrl: fake.url }),
  ];
  const generate = (provider: ImageProvider, signal = never()) =>
    providerError(provider.generate(imageRequest({ model: provider.name === 'sd' ? sdQuality : dallE2 }), signal));

  t.test('a 500 is unavailable, with its status', async (t) => {
    fake.behave('fail');
    for (const provider of providers) {
      const error = await generate(provider);
      t.same({ kind: error.kind, status: error.status }, { kind: 'unavailable', status: 500 }, provider.name);
    }
  });

  t.test('a 400 is rejected, quoting the provider briefly', async (t) => {
    fake.behave({ mode: 'fail', status: 400 });
    for (const provider of providers) {
      const error = await generate(provider);
      t.same({ kind: error.kind, status: error.status }, { kind: 'rejected', status: 400 }, provider.name);
      t.match(error.message, /processing your request/);
      t.notOk(error.message.includes('RuntimeError: RuntimeError'));
      t.ok(error.message.length < providerLimits.errorExcerptCharsMax + 100);
    }
  });

  t.test('the API key never appears in an error, even when the provider quotes it back', async (t) => {
    fake.behave({ mode: 'fail', status: 401, echoAuthorization: true });
    const error = await generate(providers[0]!);
    t.equal(error.kind, 'rejected');
    t.match(error.message, /Incorrect API key provided: \[redacted\]/);
    t.notOk(error.message.includes(apiKey));
    t.notOk(String(error.stack).includes(apiKey));
  });

  t.test('a hanging provider is a timeout, returned promptly once the signal aborts', async (t) => {
    fake.behave('hang');
    for (const provider of providers) {
      const controller = new AbortController();
      const pending = generate(provider, controller.signal);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const abortedMs = Date.now();
      controller.abort();
      const error = await pending;
      t.equal(error.kind, 'timeout', provider.name);
      t.ok(Date.now() - abortedMs < 1_000, 'returns promptly after the abort');
    }
  });

  t.test('a late answer past the deadline is a timeout, and one within it succeeds', async (t) => {
    fake.behave({ mode: 'late', delayMs: 150 });
    for (const provider of providers) {
      t.equal((await generate(provider, AbortSignal.timeout(50))).kind, 'timeout', provider.name);
      const { data } = await provider.generate(imageRequest({ model: provider.name === 'sd' ? sdQuality : dallE2 }), AbortSignal.timeout(5_000));
      t.ok(data.length > 0);
    }
  });

  t.test('a 429 is rate_limited, with the wait from Retry-After in seconds', async (t) => {
    fake.behave({ mode: 'rate_limit', retryAfter: '7' });
    for (const provider of providers) {
      const error = await generate(provider);
      t.same({ kind: error.kind, status: error.status, retryAfterMs: error.retryAfterMs }, { kind: 'rate_limited', status: 429, retryAfterMs: 7_000 }, provider.name);
    }
  });

  t.test('a 429 is rate_limited, with the wait from Retry-After as an HTTP date', async (t) => {
    fake.behave({ mode: 'rate_limit', retryAfter: new Date(Date.now() + 30_000).toUTCString() });
    const error = await generate(providers[0]!);
    t.equal(error.kind, 'rate_limited');
    t.ok(error.retryAfterMs !== null && error.retryAfterMs > 25_000 && error.retryAfterMs <= 30_000, `retryAfterMs ${error.retryAfterMs}`);
  });

  t.test('a 429 without a readable Retry-After has no wait', async (t) => {
    fake.behave({ mode: 'rate_limit', retryAfter: 'soon' });
    const error = await generate(providers[0]!);
    t.same({ kind: error.kind, retryAfterMs: error.retryAfterMs }, { kind: 'rate_limited', retryAfterMs: null });
  });

  t.test('a queued 429 is followed by the standing behaviour', async (t) => {
    fake.behave('ok');
    fake.queue('rate_limit');
    const provider = providers[0]!;
    t.equal((await generate(provider)).kind, 'rate_limited');
    const { data } = await provider.generate(imageRequest({ model: dallE2 }), never());
    t.ok(data.length > 0);
  });

  t.test('every malformed answer is malformed, from the provider or from normalisation', async (t) => {
    const variants = ['not_json', 'no_images', 'not_base64', 'not_an_image', 'solid_fill', 'tiny'] as const;
    for (const provider of providers) {
      for (const variant of variants) {
        fake.behave({ mode: 'malformed', variant });
        const error = await providerError(
          provider.generate(imageRequest({ model: provider.name === 'sd' ? sdQuality : dallE2 }), never()).then(({ data }) => normaliseImage(data, 1280, 720)),
        );
        t.equal(error.kind, 'malformed', `${provider.name} ${variant}: ${error.message}`);
      }
    }
  });

  t.test('a body larger than the cap is malformed, whether announced or streamed', async (t) => {
    for (const behaviour of [{ mode: 'ok' }, { mode: 'ok', chunked: true }] satisfies FakeBehaviour[]) {
      fake.behave(behaviour);
      for (const provider of [
        new OpenAIProvider({ baseUrl: fake.url, apiKey, responseBytesMax: 64 * 1024 }),
        new StableDiffusionProvider({ baseUrl: fake.url, responseBytesMax: 64 * 1024 }),
      ]) {
        const error = await generate(provider);
        t.equal(error.kind, 'malformed', `${provider.name} ${JSON.stringify(behaviour)}: ${error.message}`);
      }
    }
  });

  t.test('a refused connection is unavailable', async (t) => {
    const port = await freePortWithNothingListening();
    for (const provider of [new OpenAIProvider({ baseUrl: `http://127.0.0.1:${port}`, apiKey }), new StableDiffusionProvider({ baseUrl: `http://127.0.0.1:${port}` })]) {
      const error = await generate(provider);
      t.equal(error.kind, 'unavailable', provider.name);
      t.match(error.message, /ECONNREFUSED/);
      t.notOk(error.message.includes(apiKey));
    }
  });

  t.test('an already aborted signal is a timeout without a request', async (t) => {
    fake.behave('ok');
    const before = fake.requests.length;
    const controller = new AbortController();
    controller.abort();
    t.equal((await generate(providers[0]!, controller.signal)).kind, 'timeout');
    t.equal(fake.requests.length, before);
  });
});

t.test('postJson follows no redirect, so the key never travels to another host', async (t) => {
  const fake = await FakeImageApi.start(t);
  const redirecting = createHttpServer((_request, response) => {
    response.writeHead(307, { location: `${fake.url}/v1/images/generations`, 'content-length': 0 });
    response.end();
  });
  await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    redirecting.closeAllConnections();
    return new Promise<void>((resolve) => redirecting.close(() => resolve()));
  });
  const { port } = redirecting.address() as AddressInfo;
  const error = await providerError(postJson(`http://127.0.0.1:${port}/`, {}, { headers: { authorization: `Bearer ${apiKey}` }, signal: never() }));
  t.equal(error.kind, 'unavailable');
  t.equal(fake.requests.length, 0);
});

t.test('Retry-After', async (t) => {
  const nowMs = Date.parse('2025-11-03T12:00:00Z');
  t.test('reads delta-seconds', async (t) => {
    t.equal(parseRetryAfterMs('0', nowMs), 0);
    t.equal(parseRetryAfterMs(' 12 ', nowMs), 12_000);
  });
  t.test('reads an HTTP date relative to now, a past one as no wait', async (t) => {
    t.equal(parseRetryAfterMs('Mon, 03 Nov 2025 12:00:45 GMT', nowMs), 45_000);
    t.equal(parseRetryAfterMs('Mon, 03 Nov 2025 11:00:00 GMT', nowMs), 0);
    t.equal(parseRetryAfterMs('Monday, 03-Nov-25 12:01:00 GMT', nowMs), 60_000, 'the obsolete RFC 850 form');
  });
  t.test('is null when absent or unreadable', async (t) => {
    for (const value of [null, '', 'soon', '-5', '1.5', '2025-11-03', 'Xyz, nonsense']) t.equal(parseRetryAfterMs(value, nowMs), null, String(value));
  });
  t.test('caps a long wait at the limit', async (t) => {
    t.equal(parseRetryAfterMs('86400', nowMs), providerLimits.retryAfterMsMax);
  });
});

t.test('decodeBase64Image accepts only strict base64', async (t) => {
  t.same(decodeBase64Image(Buffer.from('image bytes').toString('base64')), Buffer.from('image bytes'));
  for (const text of ['', 'abc', 'ab cd', 'ab\ncd==', 'data:image/png;base64,AAAA', 'AA==AA==', '-_-_', 'A===']) {
    t.throws(() => decodeBase64Image(text), { name: 'ProviderError', kind: 'malformed' }, JSON.stringify(text));
  }
  t.throws(() => decodeBase64Image('A'.repeat(Math.ceil(providerLimits.imageBytesMax / 3) * 4 + 4)), { name: 'ProviderError', kind: 'malformed' }, 'too large');
});

t.test('normaliseImage', async (t) => {
  const gradient = async (width: number, height: number) => {
    const pixels = Buffer.alloc(width * height * 3);
    for (let index = 0; index < width * height; index += 1) {
      pixels[index * 3] = index % 251;
      pixels[index * 3 + 1] = Math.floor((index / (width * height)) * 255);
      pixels[index * 3 + 2] = 90;
    }
    return sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
  };

  t.test('fits any shape to exactly the frame size, the same way every time', async (t) => {
    const input = await gradient(300, 200);
    const first = await normaliseImage(input, 160, 240);
    const second = await normaliseImage(input, 160, 240);
    t.ok(first.data.equals(second.data));
    const metadata = await sharp(first.data).metadata();
    t.same({ format: metadata.format, width: metadata.width, height: metadata.height, hasAlpha: metadata.hasAlpha }, { format: 'webp', width: 160, height: 240, hasAlpha: false });
  });

  t.test('refuses an image smaller than the minimum side', async (t) => {
    t.equal((await providerError(normaliseImage(await gradient(63, 200), 128, 128))).kind, 'malformed');
  });

  t.test('refuses an image claiming more pixels than the limit, before decoding it', async (t) => {
    const side = Math.ceil(Math.sqrt(providerLimits.inputPixelsMax)) + 16;
    const huge = await sharp({ create: { width: side, height: side, channels: 3, background: '#336699' } }).png({ compressionLevel: 1 }).toBuffer();
    const error = await providerError(normaliseImage(huge, 128, 128));
    t.equal(error.kind, 'malformed');
    t.match(error.message, /pixels/);
  });

  t.test('refuses a solid fill, even a coloured one', async (t) => {
    const solid = await sharp({ create: { width: 256, height: 256, channels: 4, background: { r: 200, g: 30, b: 90, alpha: 1 } } }).png().toBuffer();
    t.match(await providerError(normaliseImage(solid, 128, 128)), { kind: 'malformed', message: /solid/ });
  });

  t.test('a grey picture becomes a colour frame of the same greys, and transparency is flattened onto black', async (t) => {
    const grey = await sharp(Buffer.alloc(200 * 200, 120), { raw: { width: 200, height: 200, channels: 1 } })
      .composite([{ input: { create: { width: 100, height: 200, channels: 3, background: { r: 40, g: 40, b: 40 } } }, left: 0, top: 0 }])
      .png().toBuffer();
    const greyFrame = await sharp((await normaliseImage(grey, 128, 128)).data).raw().toBuffer({ resolveWithObject: true });
    t.equal(greyFrame.info.channels, 3);
    const [r, g, b] = greyFrame.data.subarray((64 * 128 + 120) * 3, (64 * 128 + 120) * 3 + 3);
    t.ok(Math.abs(r! - 120) <= 3 && r === g && g === b, `a grey pixel stays grey: ${r},${g},${b}`);
    // Left half red, right half blue, all at half opacity: flattened, each is half as bright.
    const halfClear = await sharp({ create: { width: 200, height: 200, channels: 4, background: { r: 200, g: 0, b: 0, alpha: 0.5 } } })
      .composite([{ input: { create: { width: 100, height: 200, channels: 4, background: { r: 0, g: 0, b: 200, alpha: 0.5 } } }, left: 100, top: 0 }])
      .png().toBuffer();
    const clearFrame = await sharp((await normaliseImage(halfClear, 128, 128)).data).raw().toBuffer({ resolveWithObject: true });
    t.equal(clearFrame.info.channels, 3, 'no alpha channel');
    const red = clearFrame.data[(64 * 128 + 10) * 3]!;
    t.ok(Math.abs(red - 100) <= 6, `half-transparent red 200 shows as ~100 on black, got ${red}`);
  });

  t.test('refuses a picture whose colours vary only where it is fully transparent: on screen it is a black frame', async (t) => {
    const invisible = await sharp({ create: { width: 200, height: 200, channels: 4, background: { r: 255, g: 255, b: 0, alpha: 0 } } })
      .composite([{ input: { create: { width: 100, height: 200, channels: 4, background: { r: 0, g: 80, b: 255, alpha: 0 } } }, left: 100, top: 0 }])
      .png().toBuffer();
    t.match(await providerError(normaliseImage(invisible, 128, 128)), { kind: 'malformed', message: /solid/ });
  });

  t.test('refuses bytes that are not an image, and a truncated one', async (t) => {
    t.equal((await providerError(normaliseImage(Buffer.from('not an image at all'), 128, 128))).kind, 'malformed');
    const whole = await gradient(256, 256);
    t.equal((await providerError(normaliseImage(whole.subarray(0, Math.floor(whole.length / 2)), 128, 128))).kind, 'malformed');
  });
});

t.test("a frame's variation is the largest standard deviation of one of its channels", async (t) => {
  t.equal(largestChannelDeviation(new Uint8Array(300).fill(77), 3), 0, 'a solid fill does not vary');
  t.equal(largestChannelDeviation(new Uint8Array(0), 3), 0, 'nor does nothing');
  // Red alternates 0 and 200 pixel by pixel; green and blue are flat.
  const alternating = Uint8Array.from({ length: 3 * 1000 }, (_, index) => (index % 3 === 0 && Math.floor(index / 3) % 2 === 1 ? 200 : 0));
  t.equal(largestChannelDeviation(alternating, 3), 100);
  t.throws(() => largestChannelDeviation(new Uint8Array(10), 3), /channels/, 'bytes that are not whole pixels are a caller bug');
});

t.test('createProvider builds the configured provider', async (t) => {
  const base = { openaiBaseUrl: 'https://api.openai.com' };
  t.equal(createProvider({ ...base, genProvider: 'local' }).name, 'local');
  t.equal(createProvider({ ...base, genProvider: 'openai', openaiApiKey: apiKey }).name, 'openai');
  t.equal(createProvider({ ...base, genProvider: 'sd', sdBaseUrl: 'http://127.0.0.1:7860' }).name, 'sd');
  t.throws(() => createProvider({ ...base, genProvider: 'openai' }), /OPENAI_API_KEY/);
  t.throws(() => createProvider({ ...base, genProvider: 'sd' }), /SD_BASE_URL/);
});
