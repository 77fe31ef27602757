/**
 * A self-hosted Stable Diffusion behind the AUTOMATIC1111 WebUI API (`POST /sdapi/v1/txt2img`),
 * which Forge, SD.Next and most hosted GPU images also speak.
 *
 * The size asked for keeps the frame's shape but not its pixels: the frame is scaled down until its
 * long side is at most `stableDiffusionSidePixelsMax` (SDXL's training size; larger tiles the
 * subject into repeats) and each side rounded to a multiple of 8, which the latent space requires
 * (the VAE downsamples by 8). 1280×720 becomes 1024×576; the normaliser scales it back up.
 *
 * Unlike the hosted APIs this one is reproducible: the request's seed is passed through, so the
 * same prompt and seed give the same image on the same server. The sampler and guidance scale are
 * fixed at common, robust defaults; the model's `steps` is the quality knob the router turns.
 */
import { z } from 'zod';
import { decodeBase64Image, postJson } from './http.js';
import { providerLimits } from './limits.js';
import { ProviderError, type ImageProvider, type ImageRequest, type ProviderImage } from './provider.js';

export type StableDiffusionProviderOptions = {
  /** Scheme, host and port of the WebUI (`http://127.0.0.1:7860`). */
  baseUrl: string;
  responseBytesMax?: number;
};

const latentPixels = 8;
const guidanceScale = 7;
const samplerName = 'DPM++ 2M';

const Txt2ImgResponse = z.object({
  images: z.array(z.string()).min(1),
});

/** The size to ask for: the frame's shape, long side capped, sides multiples of 8 (pure). */
export function stableDiffusionSizeFor(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, providerLimits.stableDiffusionSidePixelsMax / Math.max(width, height));
  // Rounding cannot push the long side past the cap: the cap is itself a multiple of 8.
  const side = (pixels: number) => Math.max(providerLimits.imageSidePixelsMin, Math.round((pixels * scale) / latentPixels) * latentPixels);
  return { width: side(width), height: side(height) };
}

/** The JSON body of one txt2img request (pure). */
export function stableDiffusionRequestBody(request: ImageRequest): Record<string, unknown> {
  const size = stableDiffusionSizeFor(request.width, request.height);
  return {
    prompt: request.prompt.slice(0, providerLimits.stableDiffusionPromptCharsMax),
    negative_prompt: request.negativePrompt.slice(0, providerLimits.stableDiffusionPromptCharsMax),
    width: size.width,
    height: size.height,
    steps: request.model.steps,
    // The WebUI reads -1 as "random"; an unsigned 32-bit seed never is.
    seed: request.seed >>> 0,
    cfg_scale: guidanceScale,
    sampler_name: samplerName,
    batch_size: 1,
    n_iter: 1,
  };
}

export class StableDiffusionProvider implements ImageProvider {
  readonly name = 'sd' as const;
  readonly #url: string;
  readonly #responseBytesMax: number;

  constructor(options: StableDiffusionProviderOptions) {
    this.#url = `${options.baseUrl.replace(/\/+$/, '')}/sdapi/v1/txt2img`;
    this.#responseBytesMax = options.responseBytesMax ?? providerLimits.responseBytesMax;
  }

  async generate(request: ImageRequest, signal: AbortSignal): Promise<ProviderImage> {
    const json = await postJson(this.#url, stableDiffusionRequestBody(request), { signal, responseBytesMax: this.#responseBytesMax });
    const parsed = Txt2ImgResponse.safeParse(json);
    if (!parsed.success) throw new ProviderError('malformed', 'Stable Diffusion answered without an image (images[0])');
    return { data: decodeBase64Image(parsed.data.images[0]!) };
  }
}
