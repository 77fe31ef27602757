/**
 * The pantry's pixels: the only module of the pantry that uses sharp. Three jobs.
 *
 * Ingestion turns an operator's upload into a master. Checks run in order of cost: the byte size;
 * the header (format, declared pixels — before anything is decoded, so a small file cannot expand
 * to gigabytes — and the shorter side); then the decode itself, which refuses a truncated file
 * (sharp's `failOn` stays at its strict default). Only raster photographs and drawings are taken:
 * an SVG is a program that draws, not a picture, and is refused like any other format. The master
 * is turned upright from its EXIF orientation, converted to sRGB, flattened onto black (the colour
 * around a frame on screen), scaled down to `masterSidePixelsMax` on the long side (never up) and
 * stored as WebP without metadata (sharp drops it unless asked, and EXIF can carry a location).
 *
 * Analysis finds what `fit.ts` needs to crop without losing the picture, on one small working copy
 * (`analysisSidePixels`): the palette (libimagequant's quantisation, counted here), the focus
 * (libvips' attention: edges, saturation and skin tones) and the safe area. The safe area is the
 * smallest box holding `safeAreaInterestShare` of the picture's interest, found one axis at a time
 * on the interest's marginals. Interest is luminance edges (Sobel) plus each pixel's colour
 * distance from the picture's median colour (after the idea of Achanta et al.'s "frequency-tuned"
 * saliency): a subject that stands out from its background counts inside, not only at its rim.
 *
 * Adaptation renders a master for a screen of another orientation: a crop window scaled to the
 * frame, or the whole picture fitted inside the frame on a background made of itself — scaled to
 * cover, blurred, darkened, and tinted with a gradient between its two dominant colours, so the
 * bars around the picture look like the picture's own light rather than a letterbox.
 *
 * Cost, measured on two busy cores (sharp runs one thread per image on glibc Linux): a 1280×720
 * WebP master takes ~35 ms to analyse, ~110 ms to crop and ~135 ms to fill (~175 ms when the
 * palette must be computed first); most of it is encoding the frame (~70 ms) and decoding the
 * master (~30 ms). A 4000×3000 photograph (JPEG, 4 MB) takes ~65 ms to analyse (JPEG decodes
 * at reduced size) but ~2 s to ingest, nearly all of it encoding the 3840-pixel WebP master;
 * analysing that master takes ~250 ms and cropping or filling from it 0.4–0.7 s, since WebP is
 * decoded whole. Masters are analysed once and variants cached, so none of this is per request.
 */
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { Orientation } from '@titrate/shared';
import { limits } from '../limits.js';
import { frameSizes } from './art.js';
import { orientationOf, type FrameAnalysis, type PaletteColor, type PixelRect, type Point, type Rect } from './fit.js';

export const ingestErrorCodes = ['not_an_image', 'too_large', 'too_small', 'unsupported'] as const;
export type IngestErrorCode = (typeof ingestErrorCodes)[number];

export class IngestError extends Error {
  override readonly name = 'IngestError';

  constructor(
    readonly code: IngestErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type IngestedImage = {
  data: Buffer;
  width: number;
  height: number;
  contentType: 'image/webp';
  orientation: Orientation;
  analysis: FrameAnalysis;
};

export type AdaptPlan = { fit: 'crop'; window: PixelRect } | { fit: 'fill' };

/**
 * The raster formats an upload may be, as sharp names them. AVIF is `heif` with AV1 compression
 * (HEIC, its HEVC sibling, has no decoder in sharp's build). GIF and TIFF give their first page.
 */
const rasterFormats: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'heif', 'gif', 'tiff']);

/** Where WebP's artefacts stop showing on a full screen; the frames the players get are re-encoded anyway. */
const webpQuality = 85;
const black = { r: 0, g: 0, b: 0 };

/**
 * The long side of the analysis working copy. Palette shares and safe-area edges are resolved to
 * a 128th of the picture, finer than a crop needs; libvips' attention works on 32 cells anyway.
 */
const analysisSidePixels = 128;
/** Dominant colours kept: enough for a gradient and a mood, few enough to be dominant. */
const paletteColorsMax = 5;
/**
 * The share of the interest the safe area holds. All of it would make every textured picture's
 * safe area the whole picture; 70% keeps the subject and lets a crop shed busy margins.
 */
const safeAreaInterestShare = 0.7;
/** Room kept around the focus inside the safe area, in fractions of each side. */
const focusMarginFraction = 0.05;
/** libvips' attention scores a grid of 32×32 cells and reports a cell's corner, not its centre. */
const attentionCells = 32;

/** The fill's background is drawn at an eighth of the frame: it is blurred away, so pixels are wasted. */
const fillBackgroundScale = 8;
/** Blur of the background at that scale: about 50 frame pixels, past recognising any shape. */
const fillBlurSigma = 6;
/** The background is darkened so that the picture, not its echo, draws the eye. */
const fillBrightness = 0.5;
/** Opacity of the palette gradient over the blurred background: a tint, not a paint. */
const fillTintOpacity = 0.35;

/** Validates and normalises an uploaded image into a master: refuses with IngestError. */
export async function ingestImage(data: Buffer): Promise<IngestedImage> {
  if (data.length === 0) throw new IngestError('not_an_image', 'the file is empty');
  if (data.length > limits.ingestBytesMax) {
    throw new IngestError('too_large', `the file is ${data.length} bytes, more than the ${limits.ingestBytesMax} allowed`);
  }
  await checkHeader(data);
  let master: { data: Buffer; info: sharp.OutputInfo };
  try {
    master = await open(data)
      .resize(limits.masterSidePixelsMax, limits.masterSidePixelsMax, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: black })
      .toColourspace('srgb')
      .webp({ quality: webpQuality })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new IngestError('not_an_image', 'the image does not decode (truncated or corrupt)', { cause: error });
  }
  const { width, height } = master.info;
  const analysis = await analyseImage(master.data);
  return { data: master.data, width, height, contentType: 'image/webp', orientation: orientationOf(width, height), analysis };
}

/** Opens an image upright (EXIF orientation applied), refusing more pixels than an upload may have. */
function open(data: Buffer): sharp.Sharp {
  return sharp(data, { limitInputPixels: limits.ingestPixelsMax, autoOrient: true });
}

async function checkHeader(data: Buffer): Promise<void> {
  let metadata: sharp.Metadata;
  try {
    // The header alone, with no pixel limit (sharp's default one included), so that a huge size
    // is reported as too large rather than refused as unreadable; nothing is decoded here.
    metadata = await sharp(data, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new IngestError('not_an_image', 'the file is not an image sharp can read', { cause: error });
  }
  const { format, width, height, compression } = metadata;
  const isHeic = format === 'heif' && compression !== 'av1';
  if (!rasterFormats.has(format) || isHeic) {
    throw new IngestError('unsupported', `${isHeic ? 'HEIC' : format.toUpperCase()} is not accepted; upload JPEG, PNG, WebP, AVIF, GIF or TIFF`);
  }
  if (width * height > limits.ingestPixelsMax) {
    throw new IngestError('too_large', `the image is ${width}×${height}, more than ${limits.ingestPixelsMax} pixels`);
  }
  if (Math.min(width, height) < limits.ingestSidePixelsMin) {
    throw new IngestError('too_small', `the image is ${width}×${height}; its shorter side must be at least ${limits.ingestSidePixelsMin} pixels`);
  }
}

// --- Analysis -------------------------------------------------------------------------------

/** Palette, safe area and focus of an image (any size). */
export async function analyseImage(data: Buffer): Promise<FrameAnalysis> {
  const copy = await workingCopy(data);
  const interest = interestMap(copy);
  // A flat picture has nothing to attend to: libvips would answer its first cell, a corner.
  const flat = interest.values.every((value) => value === 0);
  const [palette, focus] = await Promise.all([quantisedPalette(copy), flat ? { x: 0.5, y: 0.5 } : attentionFocus(copy)]);
  return { palette, safeArea: safeAreaOf(interest, focus), focus };
}

/**
 * The palette alone, which is all a fill needs: no interest map, whose pixel loops run on the
 * event loop (a master without a stored analysis would otherwise pay the whole analysis for it).
 */
export async function paletteOfImage(data: Buffer): Promise<PaletteColor[]> {
  return quantisedPalette(await workingCopy(data));
}

/** The small sRGB copy every analysis works on. */
async function workingCopy(data: Buffer): Promise<RawImage> {
  const { data: pixels, info } = await open(data)
    .resize(analysisSidePixels, analysisSidePixels, { fit: 'inside' })
    .flatten({ background: black })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { pixels, width: info.width, height: info.height, channels: info.channels };
}

/** Uncompressed pixels, row by row, `channels` bytes each. */
export type RawImage = { pixels: Uint8Array; width: number; height: number; channels: number };

const rawInput = (image: RawImage) => ({ raw: { width: image.width, height: image.height, channels: image.channels as 1 | 2 | 3 | 4 } });

async function quantisedPalette(image: RawImage): Promise<PaletteColor[]> {
  // libimagequant picks the colours (dither off: dithering would count one colour as a mix of two).
  const quantised = await sharp(image.pixels, rawInput(image)).png({ palette: true, colours: paletteColorsMax, dither: 0 }).toBuffer();
  const { data, info } = await sharp(quantised).raw().toBuffer({ resolveWithObject: true });
  return paletteOf(data, info.channels, paletteColorsMax);
}

/**
 * The colours of (quantised) pixels, most common first, at most `colorsMax`, with shares of the
 * pixels they cover (so they sum to 1). Ties are broken by the colour's RGB value, so that the same
 * pixels in any order give the same palette.
 */
export function paletteOf(pixels: Uint8Array, channels: number, colorsMax: number): PaletteColor[] {
  assert.ok(channels >= 3 && pixels.length % channels === 0, `pixels of ${channels} channels are not RGB`);
  const counts = new Map<number, number>();
  for (let index = 0; index < pixels.length; index += channels) {
    const key = (pixels[index]! << 16) | (pixels[index + 1]! << 8) | pixels[index + 2]!;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const kept = [...counts].sort(([keyA, countA], [keyB, countB]) => countB - countA || keyA - keyB).slice(0, colorsMax);
  const total = kept.reduce((sum, [, count]) => sum + count, 0);
  return kept.map(([key, count]) => ({ r: (key >> 16) & 0xff, g: (key >> 8) & 0xff, b: key & 0xff, share: count / total }));
}

async function attentionFocus(image: RawImage): Promise<Point> {
  // libvips skips the attention search when nothing needs cropping, so the target is one row
  // shorter than the copy: the copy is not scaled (cover of a smaller target at scale 1) and the
  // point comes back in the copy's own pixels. (Given a JPEG or WebP directly, sharp multiplies
  // the point by its shrink-on-load factor, which puts it in neither the original's pixels nor
  // the resized ones; the raw copy has no shrink-on-load.)
  if (image.height < 2) return { x: 0.5, y: 0.5 };
  const { info } = await sharp(image.pixels, rawInput(image))
    .resize(image.width, image.height - 1, { fit: 'cover', position: 'attention' })
    .toBuffer({ resolveWithObject: true });
  if (info.attentionX === undefined || info.attentionY === undefined) return { x: 0.5, y: 0.5 };
  return attentionPoint({ x: info.attentionX, y: info.attentionY }, image);
}

/**
 * libvips' attention point, in pixels of the image it searched, as fractions of that image. The
 * point is the corner of the winning cell of its 32×32 grid, so half a cell is added to centre it.
 */
export function attentionPoint(attention: Point, searched: { width: number; height: number }): Point {
  const x = (attention.x + searched.width / attentionCells / 2) / searched.width;
  const y = (attention.y + searched.height / attentionCells / 2) / searched.height;
  return { x: clamp(x, 0, 1), y: clamp(y, 0, 1) };
}

/** Interest per pixel, row by row. */
export type InterestMap = { values: Float64Array; width: number; height: number };

/**
 * How much each pixel draws the eye: the Sobel gradient of its luminance (scaled so that a black
 * to white step scores 255) plus its RGB distance from the picture's median colour. The median,
 * not the mean: a plain background is the median and scores nothing, where its distance from a
 * mean pulled by the subject would add up, over the many pixels of the background, to as much as
 * the subject. Both terms are zero on a flat picture and spread evenly on a uniform texture.
 */
export function interestMap(image: RawImage): InterestMap {
  const { pixels, width, height, channels } = image;
  assert.ok(channels >= 3 && pixels.length === width * height * channels, 'the interest map needs RGB pixels of the stated size');
  const count = width * height;
  // Rec. 709 luminance in 256ths, in integers so that a flat picture's edges are exactly zero.
  const luminance = new Int32Array(count);
  for (let index = 0; index < count; index += 1) {
    const offset = index * channels;
    luminance[index] = 54 * pixels[offset]! + 183 * pixels[offset + 1]! + 19 * pixels[offset + 2]!;
  }
  const [red, green, blue] = medianColor(image);
  const values = new Float64Array(count);
  // Runs once per generated frame, on the event loop: a plain loop over rows and columns, the
  // neighbours' indices clamped once per row and column, and square roots of exact integer sums
  // (Math.hypot's value to within its rounding, for a fraction of its cost).
  for (let y = 0; y < height; y += 1) {
    const above = Math.max(y - 1, 0) * width;
    const row = y * width;
    const below = Math.min(y + 1, height - 1) * width;
    for (let x = 0; x < width; x += 1) {
      const left = Math.max(x - 1, 0);
      const right = Math.min(x + 1, width - 1);
      const topLeft = luminance[above + left]!;
      const topRight = luminance[above + right]!;
      const bottomLeft = luminance[below + left]!;
      const bottomRight = luminance[below + right]!;
      const horizontal = topRight + 2 * luminance[row + right]! + bottomRight - topLeft - 2 * luminance[row + left]! - bottomLeft;
      const vertical = bottomLeft + 2 * luminance[below + x]! + bottomRight - topLeft - 2 * luminance[above + x]! - topRight;
      const offset = (row + x) * channels;
      const dr = pixels[offset]! - red;
      const dg = pixels[offset + 1]! - green;
      const db = pixels[offset + 2]! - blue;
      values[row + x] = Math.sqrt(horizontal * horizontal + vertical * vertical) / (4 * 256) + Math.sqrt(dr * dr + dg * dg + db * db);
    }
  }
  return { values, width, height };
}

/** The median of each of the red, green and blue channels (from their histograms). */
function medianColor(image: RawImage): [number, number, number] {
  const count = image.width * image.height;
  const median: [number, number, number] = [0, 0, 0];
  for (let channel = 0; channel < 3; channel += 1) {
    const histogram = new Uint32Array(256);
    for (let offset = channel; offset < image.pixels.length; offset += image.channels) histogram[image.pixels[offset]!]! += 1;
    let below = 0;
    let level = 0;
    while (level < 255 && below + histogram[level]! <= count / 2) below += histogram[level++]!;
    median[channel] = level;
  }
  return median;
}

/**
 * The narrowest run of bins holding at least `share` of the total mass, as fractions [start, end)
 * of the axis; among runs of equal length, the heaviest (then the first). Massless bins give the
 * centred run of that share, as an even spread would.
 */
export function narrowestInterval(mass: ArrayLike<number>, share: number): { start: number; end: number } {
  assert.ok(mass.length > 0 && share > 0 && share <= 1, 'an interval needs bins and a share in (0, 1]');
  const prefix = new Float64Array(mass.length + 1);
  for (let index = 0; index < mass.length; index += 1) {
    assert.ok(mass[index]! >= 0, 'interest is never negative');
    prefix[index + 1] = prefix[index]! + mass[index]!;
  }
  const total = prefix[mass.length]!;
  if (!(total > 0)) return { start: (1 - share) / 2, end: (1 + share) / 2 };
  const needed = share * total;
  let best = { start: 0, end: mass.length, mass: total };
  let start = 0;
  for (let end = 1; end <= mass.length; end += 1) {
    while (prefix[end]! - prefix[start + 1]! >= needed) start += 1;
    const held = prefix[end]! - prefix[start]!;
    if (held < needed) continue;
    const shorter = end - start < best.end - best.start;
    if (shorter || (end - start === best.end - best.start && held > best.mass)) best = { start, end, mass: held };
  }
  return { start: best.start / mass.length, end: best.end / mass.length };
}

/**
 * The smallest box holding `safeAreaInterestShare` of the interest on each axis, grown to keep the
 * focus (with a margin) inside, within the picture.
 */
export function safeAreaOf(map: InterestMap, focus: Point): Rect {
  const columns = new Float64Array(map.width);
  const rows = new Float64Array(map.height);
  for (let y = 0; y < map.height; y += 1) {
    for (let x = 0; x < map.width; x += 1) {
      const value = map.values[y * map.width + x]!;
      columns[x]! += value;
      rows[y]! += value;
    }
  }
  const across = narrowestInterval(columns, safeAreaInterestShare);
  const down = narrowestInterval(rows, safeAreaInterestShare);
  const left = clamp(Math.min(across.start, focus.x - focusMarginFraction), 0, 1);
  const right = clamp(Math.max(across.end, focus.x + focusMarginFraction), 0, 1);
  const top = clamp(Math.min(down.start, focus.y - focusMarginFraction), 0, 1);
  const bottom = clamp(Math.max(down.end, focus.y + focusMarginFraction), 0, 1);
  return { x: left, y: top, width: right - left, height: bottom - top };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}

// --- Adaptation -----------------------------------------------------------------------------

/** Renders a master for a screen of `target` orientation as WebP of exactly frameSizes[target]. */
export async function adaptFrame(
  data: Buffer,
  master: { width: number; height: number; analysis: FrameAnalysis | null },
  target: Orientation,
  plan: AdaptPlan,
): Promise<Buffer> {
  const size = frameSizes[target];
  if (plan.fit === 'crop') {
    const { left, top, width, height } = plan.window;
    assert.ok(
      [left, top, width, height].every(Number.isInteger) && left >= 0 && top >= 0 && width >= 1 && height >= 1 &&
        left + width <= master.width && top + height <= master.height,
      `crop window ${JSON.stringify(plan.window)} is not inside the ${master.width}×${master.height} master`,
    );
    return open(data)
      .extract(plan.window)
      .resize(size.width, size.height, { fit: 'cover' })
      .flatten({ background: black })
      .toColourspace('srgb')
      .webp({ quality: webpQuality })
      .toBuffer();
  }
  const palette = master.analysis?.palette ?? (await paletteOfImage(data));
  const [background, picture] = await Promise.all([fillBackground(data, size, palette), fittedPicture(data, size)]);
  return sharp(background.data, { raw: background.info })
    .resize(size.width, size.height, { fit: 'fill' })
    .composite([{ input: picture.data, raw: picture.info, gravity: 'centre' }])
    .webp({ quality: webpQuality })
    .toBuffer();
}

type RawPicture = { data: Buffer; info: { width: number; height: number; channels: 3 } };

/** The master scaled to cover a small copy of the frame, blurred, tinted and darkened. */
async function fillBackground(data: Buffer, size: { width: number; height: number }, palette: PaletteColor[]): Promise<RawPicture> {
  const width = Math.round(size.width / fillBackgroundScale);
  const height = Math.round(size.height / fillBackgroundScale);
  const { data: pixels, info } = await open(data)
    .resize(width, height, { fit: 'cover' })
    .flatten({ background: black })
    .toColourspace('srgb')
    .blur(fillBlurSigma)
    // Composited over the blur (sharp composites after every other operation, `linear` included,
    // which is why the darkening is a veil in the overlay rather than a `linear` here).
    .composite([{ input: Buffer.from(tintSvg(width, height, palette)) }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3, 'the background is opaque RGB');
  return { data: pixels, info: { width: info.width, height: info.height, channels: 3 } };
}

/** The whole master inside the frame (enlarged when it is smaller: it is shown full screen). */
async function fittedPicture(data: Buffer, size: { width: number; height: number }): Promise<RawPicture> {
  const { data: pixels, info } = await open(data)
    .resize(size.width, size.height, { fit: 'inside' })
    .flatten({ background: black })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3, 'the picture is opaque RGB');
  return { data: pixels, info: { width: info.width, height: info.height, channels: 3 } };
}

/**
 * The overlay of a fill's background: a diagonal gradient from the most to the second most
 * dominant colour at `fillTintOpacity`, under a black veil that leaves `fillBrightness` of the light.
 */
export function tintSvg(width: number, height: number, palette: PaletteColor[]): string {
  const first = palette[0] ?? { ...black, share: 1 };
  const second = palette[1] ?? first;
  const rgb = (color: PaletteColor) => `rgb(${color.r},${color.g},${color.b})`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<defs><linearGradient id="tint" x1="0" y1="0" x2="1" y2="1">` +
    `<stop offset="0" stop-color="${rgb(first)}"/><stop offset="1" stop-color="${rgb(second)}"/>` +
    `</linearGradient></defs>` +
    `<rect width="${width}" height="${height}" fill="url(#tint)" opacity="${fillTintOpacity}"/>` +
    `<rect width="${width}" height="${height}" fill="black" opacity="${1 - fillBrightness}"/></svg>`
  );
}
