/**
 * The gate between a provider and a player: whatever bytes came back are checked and turned into
 * one kind of frame — WebP, exactly the frame size — or rejected as `malformed`.
 *
 * Checked, in order of cost: the byte size; the header (it must decode, claim no more pixels than
 * `inputPixelsMax` — checked before decoding, so a small file cannot expand to gigabytes — and be
 * at least `imageSidePixelsMin` a side); then the fitted frame, which must vary: a solid fill is
 * what a safety filter sends instead of the picture it refused, and showing a black frame is worse
 * than showing a library one. The frame, not the image, is what is checked, since it is what would
 * be shown: a small copy of it (`solidFillCheckSidePixels`), decoded from the encoded frame. The
 * frame's own pixels stay inside libvips: 2.7 MB of them per frame handed to JavaScript count as
 * external memory, which made V8's full collections six times as frequent under load.
 *
 * Fitted with `cover` so the frame is filled edge to edge (the player shows it full screen), and
 * cropped around what draws the eye (`attention`: libvips' saliency from luminance, saturation and
 * skin tones) rather than the centre, since a provider's subject is rarely where our crop would be.
 * Transparency is flattened onto black, the colour around a frame on screen. WebP at quality 82 is
 * where its artefacts stop being visible on moving pictures, at about a tenth of the PNG's bytes.
 * The encoder's effort trades CPU for bytes at that same quality: at 2 a 1280×720 frame takes
 * ~26 ms and ~4% more bytes than at 4 (~62 ms). Every fresh frame is encoded here, on the node,
 * whoever made it, and is shown about once; a library frame's variants, served again and again,
 * keep the default effort (pantry/image.ts).
 */
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { providerLimits } from './limits.js';
import { ProviderError } from './provider.js';

const webpQuality = 82;
const webpEffort = 2;

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
  let output: Buffer;
  try {
    output = await open(data)
      .flatten({ background: '#000000' })
      .resize(width, height, { fit: 'cover', position: 'attention' })
      .webp({ quality: webpQuality, effort: webpEffort })
      .toBuffer();
  } catch (error) {
    throw new ProviderError('malformed', 'the image does not decode or cannot be fitted to the frame', { cause: error });
  }
  const side = providerLimits.solidFillCheckSidePixels;
  const copy = await sharp(output).resize(side, side, { fit: 'inside' }).raw().toBuffer({ resolveWithObject: true });
  if (!(largestChannelDeviation(copy.data, copy.info.channels) > providerLimits.solidFillStandardDeviationMax)) {
    throw new ProviderError('malformed', 'the image is a solid fill (a filtered or blank result)');
  }
  return { data: output, width, height, contentType: 'image/webp' };
}

/** The largest standard deviation of one channel over `pixels`, interleaved `channels` to a pixel (pure). */
export function largestChannelDeviation(pixels: Uint8Array, channels: number): number {
  assert.ok(Number.isInteger(channels) && channels >= 1 && pixels.length % channels === 0, `${pixels.length} bytes are not pixels of ${channels} channels`);
  const count = pixels.length / channels;
  if (count === 0) return 0;
  let largest = 0;
  for (let channel = 0; channel < channels; channel += 1) {
    let sum = 0;
    let squares = 0;
    for (let index = channel; index < pixels.length; index += channels) {
      const value = pixels[index]!;
      sum += value;
      squares += value * value;
    }
    const mean = sum / count;
    largest = Math.max(largest, Math.sqrt(Math.max(0, squares / count - mean * mean)));
  }
  return largest;
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
