import { randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import fc from 'fast-check';
import sharp from 'sharp';
import t, { type Test } from 'tap';
import { limits } from '../../src/limits.js';
import { frameSizes } from '../../src/pantry/art.js';
import { cropWindow, keepsSafeArea, type Rect } from '../../src/pantry/fit.js';
import {
  adaptFrame,
  analyseImage,
  paletteOfImage,
  attentionPoint,
  IngestError,
  ingestImage,
  interestMap,
  narrowestInterval,
  paletteOf,
  safeAreaOf,
  tintSvg,
  type IngestErrorCode,
  type RawImage,
} from '../../src/pantry/image.js';

// --- Pictures made for the tests ------------------------------------------------------------

type Subject = { width: number; height: number; x: number; y: number; radius: number };

/** A bright disc (centre and radius in fractions: x, y of each side, radius of the shorter side) on a dark background. */
function subjectSvg(subject: Subject): Buffer {
  const { width, height } = subject;
  const radius = subject.radius * Math.min(width, height);
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<rect width="100%" height="100%" fill="#101018"/>` +
      `<circle cx="${subject.x * width}" cy="${subject.y * height}" r="${radius}" fill="#ffe070"/></svg>`,
  );
}

const subjectPng = (subject: Subject) => sharp(subjectSvg(subject)).png().toBuffer();

/** The centre of the bright pixels (luminance above half) and the share of the picture they cover. */
async function brightPixels(data: Buffer): Promise<{ x: number; y: number; share: number; width: number; height: number }> {
  const { data: pixels, info } = await sharp(data).greyscale().raw().toBuffer({ resolveWithObject: true });
  let count = 0;
  let sumX = 0;
  let sumY = 0;
  for (let index = 0; index < pixels.length; index += info.channels) {
    if (pixels[index]! < 128) continue;
    const pixel = index / info.channels;
    count += 1;
    sumX += pixel % info.width;
    sumY += Math.floor(pixel / info.width);
  }
  return { x: sumX / count, y: sumY / count, share: count / (info.width * info.height), width: info.width, height: info.height };
}

/** A PNG whose header claims `width`×`height` pixels, with almost no pixel data behind it. */
function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const checksum = Buffer.alloc(4);
    checksum.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, checksum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per channel
  header[9] = 2; // RGB
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

async function refusal(t: Test, data: Buffer, code: IngestErrorCode, label: string): Promise<void> {
  const error: unknown = await ingestImage(data).then(
    () => null,
    (caught: unknown) => caught,
  );
  t.ok(error instanceof IngestError, `${label} is refused with an IngestError`);
  if (error instanceof IngestError) {
    t.equal(error.code, code, `${label}: ${error.message}`);
    t.ok(error.message.length > 10, `${label} says why`);
  }
}

function raw(width: number, height: number, colorAt: (x: number, y: number) => [number, number, number]): RawImage {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) pixels.set(colorAt(x, y), (y * width + x) * 3);
  }
  return { pixels, width, height, channels: 3 };
}

const contains = (rect: Rect, x: number, y: number) => x >= rect.x && x <= rect.x + rect.width && y >= rect.y && y <= rect.y + rect.height;

// --- Pure helpers ---------------------------------------------------------------------------

t.test('the palette lists colours most common first with shares of the pixels', async (t) => {
  const pixels = new Uint8Array([...[200, 30, 40], ...[200, 30, 40], ...[200, 30, 40], ...[20, 60, 220]]);
  t.same(paletteOf(pixels, 3, 5), [
    { r: 200, g: 30, b: 40, share: 0.75 },
    { r: 20, g: 60, b: 220, share: 0.25 },
  ]);
});

t.test('the palette keeps the most common colours and their shares still sum to one', async (t) => {
  const pixels = new Uint8Array([...[9, 9, 9, 255], ...[9, 9, 9, 255], ...[9, 9, 9, 255], ...[50, 0, 0, 255], ...[50, 0, 0, 255], ...[0, 0, 70, 255]]);
  const palette = paletteOf(pixels, 4, 2);
  t.same(
    palette.map(({ r, g, b }) => [r, g, b]),
    [
      [9, 9, 9],
      [50, 0, 0],
    ],
  );
  t.equal(palette.reduce((sum, color) => sum + color.share, 0), 1);
  t.equal(palette[0]!.share, 0.6);
});

t.test('colours of equal count are ordered the same way every time', async (t) => {
  const forwards = paletteOf(new Uint8Array([200, 200, 200, 10, 10, 10]), 3, 5);
  const backwards = paletteOf(new Uint8Array([10, 10, 10, 200, 200, 200]), 3, 5);
  t.same(forwards, backwards);
});

t.test('the narrowest interval is the run of bins holding the share of the mass', async (t) => {
  t.same(narrowestInterval([0, 0, 0, 5, 10, 5, 0, 0, 0, 0], 0.7), { start: 0.3, end: 0.5 }, 'the first of two equal runs');
  t.same(narrowestInterval([0, 0, 0, 5, 10, 5, 0, 0, 0, 0], 0.5), { start: 0.4, end: 0.5 });
  t.same(narrowestInterval([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], 1), { start: 0, end: 1 }, 'all of two far masses spans the axis');
});

t.test('an even spread gives an interval as long as the share', async (t) => {
  const { start, end } = narrowestInterval(new Array<number>(100).fill(1), 0.7);
  t.equal(Math.round((end - start) * 100), 70);
});

t.test('among intervals of one length the heaviest wins', async (t) => {
  t.same(narrowestInterval([3, 0, 0, 0, 0, 0, 0, 4], 0.4), { start: 0.875, end: 1 });
});

t.test('an axis without mass gives the centred interval of the share', async (t) => {
  const { start, end } = narrowestInterval([0, 0, 0, 0], 0.7);
  t.ok(Math.abs(start - 0.15) < 1e-9 && Math.abs(end - 0.85) < 1e-9);
});

t.test('a flat picture has no interest anywhere', async (t) => {
  const map = interestMap(raw(20, 10, () => [51, 68, 85]));
  t.ok(map.values.every((value) => value === 0));
});

/**
 * The interest map by its definition, pixel by pixel: the Sobel gradient of the luminance with the
 * edge repeated beyond the border, plus the RGB distance from the median colour.
 */
function interestByDefinition(image: RawImage): Float64Array {
  const { pixels, width, height, channels } = image;
  const at = (x: number, y: number) => {
    const offset = (Math.min(Math.max(y, 0), height - 1) * width + Math.min(Math.max(x, 0), width - 1)) * channels;
    return 54 * pixels[offset]! + 183 * pixels[offset + 1]! + 19 * pixels[offset + 2]!;
  };
  const median = [0, 1, 2].map((channel) => {
    const sorted = Array.from({ length: width * height }, (_, index) => pixels[index * channels + channel]!).sort((a, b) => a - b);
    // The upper median: the first level at which more than half the pixels are at or below it.
    return sorted.find((level) => sorted.filter((value) => value <= level).length > (width * height) / 2)!;
  });
  const values = new Float64Array(width * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const horizontal = at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x - 1, y) - at(x - 1, y + 1);
      const vertical = at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x, y - 1) - at(x + 1, y - 1);
      const offset = (y * width + x) * channels;
      const distance = Math.hypot(pixels[offset]! - median[0]!, pixels[offset + 1]! - median[1]!, pixels[offset + 2]! - median[2]!);
      values[y * width + x] = Math.hypot(horizontal, vertical) / (4 * 256) + distance;
    }
  }
  return values;
}

t.test('the interest map of a black and a white pixel side by side', async (t) => {
  const { values } = interestMap(raw(2, 1, (x) => (x === 0 ? [0, 0, 0] : [255, 255, 255])));
  // The step scores 255 at both; the median of two is the upper one, white, so black is also far from it.
  t.ok(Math.abs(values[0]! - (255 + 255 * Math.sqrt(3))) < 1e-9, `black: ${values[0]}`);
  t.ok(Math.abs(values[1]! - 255) < 1e-9, `white: ${values[1]}`);
});

t.test('the interest map is its definition on any picture, edges and single rows included', async (t) => {
  const result = fc.check(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.constantFrom(3, 4), fc.integer(), (width, height, channels, seed) => {
      const pixels = new Uint8Array(width * height * channels);
      for (let index = 0; index < pixels.length; index += 1) pixels[index] = (Math.imul(seed ^ index, 2654435761) >>> 24) & (seed % 3 === 0 ? 0xf0 : 0xff);
      const image = { pixels, width, height, channels };
      const expected = interestByDefinition(image);
      const { values } = interestMap(image);
      return expected.every((value, index) => Math.abs(values[index]! - value) <= 1e-12 * Math.max(1, value));
    }),
    { numRuns: 300 },
  );
  t.notOk(result.failed, fc.defaultReportMessage(result) ?? 'every picture matched');
});

t.test('a small subject on a plain background holds the interest and the background none', async (t) => {
  const inside = (x: number, y: number) => x >= 4 && x < 8 && y >= 3 && y < 6;
  const map = interestMap(raw(40, 20, (x, y) => (inside(x, y) ? [250, 220, 110] : [16, 16, 24])));
  const far = map.values[15 * 40 + 30]!;
  const centre = map.values[4 * 40 + 5]!;
  t.equal(far, 0, 'the background scores nothing');
  t.ok(centre > 200, 'the subject scores inside, not only at its rim');
});

t.test('the safe area of a small subject is a small box around it', async (t) => {
  const inside = (x: number, y: number) => x >= 20 && x < 30 && y >= 40 && y < 50;
  const map = interestMap(raw(100, 100, (x, y) => (inside(x, y) ? [250, 250, 250] : [0, 0, 0])));
  const safe = safeAreaOf(map, { x: 0.25, y: 0.45 });
  t.ok(contains(safe, 0.25, 0.45), 'it holds the subject centre');
  t.ok(safe.x >= 0.18 && safe.x + safe.width <= 0.32, `narrow across (${safe.x}..${safe.x + safe.width})`);
  t.ok(safe.y >= 0.38 && safe.y + safe.height <= 0.52, `narrow down (${safe.y}..${safe.y + safe.height})`);
});

t.test('the safe area grows to keep the focus inside with a margin, within the picture', async (t) => {
  const inside = (x: number, y: number) => x >= 40 && x < 50 && y >= 40 && y < 50;
  const map = interestMap(raw(100, 100, (x, y) => (inside(x, y) ? [250, 250, 250] : [0, 0, 0])));
  const safe = safeAreaOf(map, { x: 0.98, y: 0.02 });
  t.ok(safe.x + safe.width === 1 && safe.y === 0, 'clamped to the picture');
  t.ok(contains(safe, 0.45, 0.45), `the subject stays inside: ${JSON.stringify(safe)}`);
});

t.test('the attention point is centred in its libvips cell and kept inside the picture', async (t) => {
  t.same(attentionPoint({ x: 36, y: 27 }, { width: 128, height: 72 }), { x: 38 / 128, y: 28.125 / 72 });
  t.same(attentionPoint({ x: 500, y: -3 }, { width: 128, height: 72 }), { x: 1, y: 0 });
});

t.test('the fill tint runs from the most to the second most dominant colour', async (t) => {
  const svg = tintSvg(90, 160, [
    { r: 10, g: 20, b: 30, share: 0.6 },
    { r: 200, g: 100, b: 50, share: 0.3 },
    { r: 1, g: 2, b: 3, share: 0.1 },
  ]);
  t.match(svg, /offset="0" stop-color="rgb\(10,20,30\)".*offset="1" stop-color="rgb\(200,100,50\)"/);
  t.notMatch(svg, /rgb\(1,2,3\)/);
  t.match(tintSvg(9, 16, [{ r: 5, g: 6, b: 7, share: 1 }]), /rgb\(5,6,7\).*rgb\(5,6,7\)/, 'one colour tints alone');
  t.match(tintSvg(9, 16, []), /rgb\(0,0,0\)/, 'no palette tints black');
});

// --- Ingestion ------------------------------------------------------------------------------

t.test('ingests landscape, portrait and square images as WebP masters of their own size', async (t) => {
  const cases = [
    { width: 1280, height: 720, orientation: 'landscape' },
    { width: 720, height: 1280, orientation: 'portrait' },
    { width: 1000, height: 960, orientation: 'square' },
  ] as const;
  for (const { width, height, orientation } of cases) {
    const upload = await sharp(subjectSvg({ width, height, x: 0.5, y: 0.5, radius: 0.1 })).jpeg().toBuffer();
    const master = await ingestImage(upload);
    t.same({ width: master.width, height: master.height, orientation: master.orientation, contentType: master.contentType }, { width, height, orientation, contentType: 'image/webp' });
    const metadata = await sharp(master.data).metadata();
    t.same({ format: metadata.format, width: metadata.width, height: metadata.height }, { format: 'webp', width, height });
    t.ok(master.analysis.palette.length >= 2 && contains(master.analysis.safeArea, 0.5, 0.5), `${orientation} is analysed`);
  }
});

t.test('accepts JPEG, PNG, WebP, AVIF, GIF and TIFF uploads', async (t) => {
  const picture = sharp(subjectSvg({ width: 640, height: 400, x: 0.5, y: 0.5, radius: 0.2 }));
  const uploads = {
    jpeg: await picture.clone().jpeg().toBuffer(),
    png: await picture.clone().png().toBuffer(),
    webp: await picture.clone().webp().toBuffer(),
    avif: await picture.clone().avif({ effort: 0 }).toBuffer(),
    gif: await picture.clone().gif().toBuffer(),
    tiff: await picture.clone().tiff().toBuffer(),
  };
  for (const [format, upload] of Object.entries(uploads)) {
    const master = await ingestImage(upload);
    t.same({ width: master.width, height: master.height }, { width: 640, height: 400 }, `${format} is ingested`);
  }
});

t.test('a master is scaled down to the largest side allowed, never up', async (t) => {
  const large = await ingestImage(await sharp(subjectSvg({ width: 5000, height: 2000, x: 0.5, y: 0.5, radius: 0.1 })).jpeg().toBuffer());
  t.same({ width: large.width, height: large.height }, { width: limits.masterSidePixelsMax, height: limits.masterSidePixelsMax * (2000 / 5000) });
  const small = await ingestImage(await subjectPng({ width: 600, height: 400, x: 0.5, y: 0.5, radius: 0.1 }));
  t.same({ width: small.width, height: small.height }, { width: 600, height: 400 });
});

t.test('an image is turned upright from its EXIF orientation and stored without metadata', async (t) => {
  // Stored 800×400 with the subject near its top-left corner; orientation 6 means "rotate 90° clockwise to view".
  const stored = await sharp(subjectSvg({ width: 800, height: 400, x: 0.15, y: 0.25, radius: 0.1 }))
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
  t.equal((await sharp(stored).metadata()).orientation, 6, 'the upload carries the orientation');
  const master = await ingestImage(stored);
  t.same({ width: master.width, height: master.height, orientation: master.orientation }, { width: 400, height: 800, orientation: 'portrait' });
  const metadata = await sharp(master.data).metadata();
  t.equal(metadata.exif, undefined, 'no EXIF is kept');
  t.equal(metadata.orientation, undefined, 'no orientation is kept');
  const bright = await brightPixels(master.data);
  // Rotating clockwise takes the top-left corner to the top-right: (0.15, 0.25) becomes (0.75, 0.15).
  t.ok(Math.abs(bright.x / 400 - 0.75) < 0.03 && Math.abs(bright.y / 800 - 0.15) < 0.03, `the subject is at (${bright.x}, ${bright.y})`);
});

t.test('transparency is flattened onto black', async (t) => {
  const clear = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="600" height="400"><circle cx="300" cy="200" r="80" fill="#ffffff"/></svg>');
  const master = await ingestImage(await sharp(clear).png().toBuffer());
  const { data, info } = await sharp(master.data).raw().toBuffer({ resolveWithObject: true });
  t.equal(info.channels, 3, 'no alpha channel');
  t.ok(data[0]! < 8 && data[1]! < 8 && data[2]! < 8, 'the transparent corner is black');
});

t.test('refuses files that are not images', async (t) => {
  await refusal(t, Buffer.alloc(0), 'not_an_image', 'an empty file');
  await refusal(t, randomBytes(4096), 'not_an_image', 'random bytes');
  const jpeg = await sharp(subjectSvg({ width: 800, height: 600, x: 0.5, y: 0.5, radius: 0.2 })).jpeg().toBuffer();
  await refusal(t, jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'not_an_image', 'a truncated JPEG');
});

t.test('refuses an SVG: it is a drawing program, not a raster upload', async (t) => {
  await refusal(t, subjectSvg({ width: 1280, height: 720, x: 0.5, y: 0.5, radius: 0.1 }), 'unsupported', 'an SVG');
});

t.test('refuses an image whose shorter side is below the minimum', async (t) => {
  await refusal(t, await subjectPng({ width: 1200, height: limits.ingestSidePixelsMin - 1, x: 0.5, y: 0.5, radius: 0.1 }), 'too_small', 'a thin banner');
});

t.test('refuses too many pixels from the header, before decoding them', async (t) => {
  await refusal(t, pngClaiming(10_000, 6_000), 'too_large', 'a 60-megapixel claim');
  await refusal(t, pngClaiming(60_000, 60_000), 'too_large', 'a claim beyond sharp’s own limit');
});

t.test('refuses a file larger than the byte limit without reading it', async (t) => {
  await refusal(t, Buffer.alloc(limits.ingestBytesMax + 1), 'too_large', 'an oversized file');
});

// --- Analysis -------------------------------------------------------------------------------

t.test('the palette of a two-colour image has both colours with their shares', async (t) => {
  const svg = Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600"><rect width="100%" height="100%" fill="rgb(200,30,40)"/><rect width="200" height="600" fill="rgb(20,60,220)"/></svg>',
  );
  const { palette } = await analyseImage(await sharp(svg).png().toBuffer());
  const near = (color: { r: number; g: number; b: number }, r: number, g: number, b: number) =>
    Math.abs(color.r - r) <= 8 && Math.abs(color.g - g) <= 8 && Math.abs(color.b - b) <= 8;
  t.ok(near(palette[0]!, 200, 30, 40) && Math.abs(palette[0]!.share - 0.75) < 0.04, `red first: ${JSON.stringify(palette[0])}`);
  t.ok(near(palette[1]!, 20, 60, 220) && Math.abs(palette[1]!.share - 0.25) < 0.04, `blue second: ${JSON.stringify(palette[1])}`);
  t.ok(palette.length <= 5);
  t.ok(Math.abs(palette.reduce((sum, color) => sum + color.share, 0) - 1) < 1e-9, 'shares sum to one');
});

t.test('the palette alone, which a fill needs, is the palette of the whole analysis', async (t) => {
  const image = await subjectPng({ width: 800, height: 450, x: 0.3, y: 0.6, radius: 0.2 });
  t.same(await paletteOfImage(image), (await analyseImage(image)).palette);
});

t.test('the focus and the safe area of an off-centre subject hold the subject', async (t) => {
  const subjects: Subject[] = [
    { width: 1280, height: 720, x: 0.3, y: 0.4, radius: 0.08 },
    { width: 960, height: 960, x: 0.7, y: 0.25, radius: 0.08 },
    { width: 720, height: 1280, x: 0.2, y: 0.8, radius: 0.08 },
  ];
  for (const subject of subjects) {
    const { focus, safeArea } = await analyseImage(await subjectPng(subject));
    const label = `${subject.width}×${subject.height} at (${subject.x}, ${subject.y})`;
    const radiusX = (subject.radius * Math.min(subject.width, subject.height)) / subject.width;
    const radiusY = (subject.radius * Math.min(subject.width, subject.height)) / subject.height;
    t.ok(Math.abs(focus.x - subject.x) < radiusX && Math.abs(focus.y - subject.y) < radiusY, `${label}: focus ${JSON.stringify(focus)} is on the subject`);
    t.ok(contains(safeArea, subject.x, subject.y), `${label}: the safe area holds the subject's centre`);
    t.ok(safeArea.width < 4 * radiusX && safeArea.height < 4 * radiusY, `${label}: the safe area ${JSON.stringify(safeArea)} is close around it`);
  }
});

t.test('a uniform texture gets a wide safe area', async (t) => {
  const noise = await sharp({ create: { width: 1280, height: 720, channels: 3, background: '#000000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
  const { safeArea } = await analyseImage(noise);
  t.ok(safeArea.width >= 0.6 && safeArea.height >= 0.6, JSON.stringify(safeArea));
});

t.test('a flat picture is focused on its centre', async (t) => {
  const flat = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#334455' } }).png().toBuffer();
  const analysis = await analyseImage(flat);
  t.same(analysis.focus, { x: 0.5, y: 0.5 });
  t.same(analysis.palette, [{ r: 0x33, g: 0x44, b: 0x55, share: 1 }]);
  t.ok(contains(analysis.safeArea, 0.5, 0.5) && analysis.safeArea.width >= 0.6);
});

// --- Adaptation -----------------------------------------------------------------------------

t.test('crops and fills render exactly the frame size of every orientation', async (t) => {
  const master = await ingestImage(await subjectPng({ width: 2400, height: 1500, x: 0.5, y: 0.5, radius: 0.1 }));
  for (const target of ['landscape', 'portrait', 'square'] as const) {
    const window = cropWindow(master, target) ?? { left: 0, top: 0, width: master.width, height: master.height };
    for (const plan of [{ fit: 'crop', window }, { fit: 'fill' }] as const) {
      const metadata = await sharp(await adaptFrame(master.data, master, target, plan)).metadata();
      t.same({ format: metadata.format, width: metadata.width, height: metadata.height }, { format: 'webp', ...frameSizes[target] }, `${target} ${plan.fit}`);
    }
  }
});

t.test('a portrait crop of a landscape master keeps its off-centre subject', async (t) => {
  const master = await ingestImage(await subjectPng({ width: 3000, height: 1500, x: 0.3, y: 0.5, radius: 0.08 }));
  const window = cropWindow(master, 'portrait');
  if (window === null) throw new Error('a 3000×1500 master must allow a portrait crop');
  t.ok(keepsSafeArea(master, window), 'the window keeps the safe area');
  const bright = await brightPixels(await adaptFrame(master.data, master, 'portrait', { fit: 'crop', window }));
  const expectedX = ((0.3 * 3000 - window.left) / window.width) * frameSizes.portrait.width;
  t.ok(Math.abs(bright.x - expectedX) < 10, `the subject is at x ${bright.x.toFixed(0)}, expected ${expectedX.toFixed(0)}`);
  t.ok(Math.abs(bright.y - 640) < 10, `the subject is at y ${bright.y.toFixed(0)}`);
  // The disc's area scales with the window: π(0.08·1500)² of the window's pixels.
  const expectedShare = (Math.PI * (0.08 * 1500) ** 2) / (window.width * window.height);
  t.ok(Math.abs(bright.share - expectedShare) < 0.2 * expectedShare, 'the whole disc is in the frame');
});

t.test('a fill shows the whole picture, scaled, in the middle band', async (t) => {
  const master = await ingestImage(await subjectPng({ width: 3000, height: 1500, x: 0.3, y: 0.5, radius: 0.08 }));
  const frame = await adaptFrame(master.data, master, 'portrait', { fit: 'fill' });
  const bright = await brightPixels(frame);
  // 3000×1500 fitted into 720×1280 is 720×360, centred: the subject lands at (216, 640).
  t.ok(Math.abs(bright.x - 216) < 6 && Math.abs(bright.y - 640) < 6, `the subject is at (${bright.x.toFixed(0)}, ${bright.y.toFixed(0)})`);
  const expectedShare = (Math.PI * (0.08 * 360) ** 2) / (720 * 1280);
  t.ok(Math.abs(bright.share - expectedShare) < 0.2 * expectedShare, 'the subject is scaled with the picture, not echoed in the background');
});

t.test('a fill extends the picture with its own colours, darker than the picture', async (t) => {
  const orange = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="900"><rect width="100%" height="100%" fill="rgb(230,120,40)"/></svg>');
  const master = await ingestImage(await sharp(orange).png().toBuffer());
  const frame = await adaptFrame(master.data, { ...master, analysis: null }, 'portrait', { fit: 'fill' });
  const { data } = await sharp(frame).raw().toBuffer({ resolveWithObject: true });
  const top = [data[(100 * 720 + 360) * 3]!, data[(100 * 720 + 360) * 3 + 1]!, data[(100 * 720 + 360) * 3 + 2]!];
  const middle = [data[(640 * 720 + 360) * 3]!, data[(640 * 720 + 360) * 3 + 1]!, data[(640 * 720 + 360) * 3 + 2]!];
  t.ok(Math.abs(middle[0]! - 230) < 10 && Math.abs(middle[1]! - 120) < 10, `the picture is as it was: ${middle}`);
  t.ok(top[0]! > top[1]! && top[1]! > top[2]! && top[0]! > 40, `the background is orange: ${top}`);
  t.ok(top[0]! < middle[0]! * 0.7, 'the background is darker than the picture');
});

t.test('the same master adapts to the same bytes', async (t) => {
  const master = await ingestImage(await subjectPng({ width: 1280, height: 720, x: 0.3, y: 0.4, radius: 0.08 }));
  const first = await adaptFrame(master.data, master, 'portrait', { fit: 'fill' });
  const second = await adaptFrame(master.data, master, 'portrait', { fit: 'fill' });
  t.ok(first.equals(second));
});

t.test('a crop window outside the master is a programming error', async (t) => {
  const master = await ingestImage(await subjectPng({ width: 1280, height: 720, x: 0.5, y: 0.5, radius: 0.1 }));
  await t.rejects(adaptFrame(master.data, master, 'portrait', { fit: 'crop', window: { left: 1000, top: 0, width: 405, height: 720 } }), {
    code: 'ERR_ASSERTION',
  });
});
