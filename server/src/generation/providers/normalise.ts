/**
 * The gate between a provider and a player: whatever bytes came back are checked and turned into
 * one kind of frame — WebP, exactly the frame size — or rejected as `malformed`.
 *
 * Checked, in order of cost: the byte size; the header (it must decode, claim no more pixels than
 * `inputPixelsMax` — checked before decoding, so a small file cannot expand to gigabytes — and be
 * at least `imageSidePixelsMin` a side); then the pixels themselves, which must vary: a solid fill
 * is what a safety filter sends instead of the picture it refused, and showing a black frame is
 * worse than showing a library one.
 *
 * Fitted with `cover` so the frame is filled edge to edge (the player shows it full screen), and
 * cropped around what draws the eye (`attention`: libvips' saliency from luminance, saturation and
 * skin tones) rather than the centre, since a provider's subject is rarely where our crop would be.
 * Transparency is flattened onto black, the colour around a frame on screen. WebP at quality 82 is
 * where its artefacts stop being visible on moving pictures, at about a tenth of the PNG's bytes.
 */
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { providerLimits } from './limits.js';
import { ProviderError } from './provider.js';

const webpQuality = 82;

export type NormalisedImage = { data: Buffer; width: number; height: number; contentType: 'image/webp' };

/** Validates a provider's image and fits it to exactly `width`×`height` WebP; throws `ProviderError('malformed')`. */
export async function normaliseImage(data: Buffer, width: number, height: number): Promise<NormalisedImage> {
  assert.ok(Number.isInteger(width) && width >= 1 && width <= providerLimits.frameSidePixelsMax, `frame width ${width} is not a frame size`);
  assert.ok(Number.isInteger(height) && height >= 1 && height <= providerLimits.frameSidePixelsMax, `frame height ${height} is not a frame size`);
  if (data.length === 0) throw new ProviderError('malformed', 'the image is empty');
  if (data.length > providerLimits.imageBytesMax) {
    throw new ProviderError('malformed', `the image is ${data.length} bytes, more than the ${providerLimits.imageBytesMax} allowed`);
  }
  await checkHeader(data);
  await checkContent(data);
  try {
    const output = await open(data)
      .flatten({ background: '#000000' })
      .resize(width, height, { fit: 'cover', position: 'attention' })
      .webp({ quality: webpQuality, effort: 4 })
      .toBuffer();
    return { data: output, width, height, contentType: 'image/webp' };
  } catch (error) {
    throw new ProviderError('malformed', 'the image could not be converted', { cause: error });
  }
}

function open(data: Buffer): sharp.Sharp {
  // `failOn` stays at its strictest default ('warning'), so a truncated image is refused, not half-shown.
  return sharp(data, { limitInputPixels: providerLimits.inputPixelsMax });
}

async function checkHeader(data: Buffer): Promise<void> {
  let metadata: sharp.Metadata;
  try {
    // The header alone, without `limitInputPixels`, so that the size can be reported rather than refused blindly.
    metadata = await sharp(data).metadata();
  } catch (error) {
    throw new ProviderError('malformed', 'the image does not decode', { cause: error });
  }
  const { width, height, format } = metadata;
  if (width === undefined || height === undefined) throw new ProviderError('malformed', `the ${format} image has no size`);
  if (width * height > providerLimits.inputPixelsMax) {
    throw new ProviderError('malformed', `the image is ${width}×${height}, more than ${providerLimits.inputPixelsMax} pixels`);
  }
  if (width < providerLimits.imageSidePixelsMin || height < providerLimits.imageSidePixelsMin) {
    throw new ProviderError('malformed', `the image is ${width}×${height}, smaller than ${providerLimits.imageSidePixelsMin} pixels a side`);
  }
}

async function checkContent(data: Buffer): Promise<void> {
  let stats: sharp.Stats;
  try {
    stats = await open(data).stats();
  } catch (error) {
    throw new ProviderError('malformed', 'the image does not decode', { cause: error });
  }
  const variation = Math.max(...stats.channels.map((channel) => channel.stdev));
  if (!(variation > providerLimits.solidFillStandardDeviationMax)) {
    throw new ProviderError('malformed', 'the image is a solid fill (a filtered or blank result)');
  }
}
