/**
 * OpenAI's image API (`POST /v1/images/generations`), or anything that speaks it.
 *
 * Each model accepts only a few sizes, so we ask for the one closest to the frame's shape and let
 * the normaliser crop the rest: DALL·E 3 has a wide, a tall and a square size; DALL·E 2 only
 * squares (the normaliser crops a landscape frame out of it); the gpt-image models have 3:2 and
 * 2:3. The answer comes inline as base64 (`b64_json`), never as a URL we would have to fetch from
 * a second host. The gpt-image models always answer that way and refuse the `response_format`
 * parameter, so it is only sent to DALL·E; likewise `quality`, whose values differ per family.
 *
 * The API has no negative prompt and no seed: the negative prompt is dropped rather than written
 * into the prompt ("no text" in a prompt tends to summon text), and images are not reproducible.
 */
import type { Orientation } from '@titrate/shared';
import { z } from 'zod';
import type { ModelSpec } from '../models.js';
import { decodeBase64Image, postJson } from './http.js';
import { providerLimits } from './limits.js';
import { ProviderError, type ImageProvider, type ImageRequest, type ProviderImage } from './provider.js';

export type OpenAIProviderOptions = {
  /** Scheme and host, without `/v1` (`https://api.openai.com`). */
  baseUrl: string;
  apiKey: string;
  responseBytesMax?: number;
};

const ImagesResponse = z.object({
  data: z.array(z.object({ b64_json: z.string() })).min(1),
});

type OpenAISize = '1024x1024' | '1792x1024' | '1024x1792' | '1536x1024' | '1024x1536';

/** The size to ask a model for, by the frame's orientation (pure). */
export function openaiSizeFor(providerModel: string, orientation: Orientation): OpenAISize {
  if (providerModel === 'dall-e-3') {
    return orientation === 'landscape' ? '1792x1024' : orientation === 'portrait' ? '1024x1792' : '1024x1024';
  }
  if (providerModel.startsWith('gpt-image-')) {
    return orientation === 'landscape' ? '1536x1024' : orientation === 'portrait' ? '1024x1536' : '1024x1024';
  }
  return '1024x1024';
}

/** The JSON body of one generation request (pure). */
export function openaiRequestBody(request: ImageRequest): Record<string, unknown> {
  const model: ModelSpec = request.model;
  const body: Record<string, unknown> = {
    model: model.providerModel,
    prompt: request.prompt.slice(0, providerLimits.openaiPromptCharsMax),
    n: 1,
    size: openaiSizeFor(model.providerModel, request.orientation),
  };
  if (model.providerModel.startsWith('gpt-image-')) {
    body['quality'] = model.quality === 'hd' ? 'high' : 'medium';
    return body;
  }
  body['response_format'] = 'b64_json';
  if (model.providerModel === 'dall-e-3') body['quality'] = model.quality;
  return body;
}

export class OpenAIProvider implements ImageProvider {
  readonly name = 'openai' as const;
  readonly #url: string;
  readonly #apiKey: string;
  readonly #responseBytesMax: number;

  constructor(options: OpenAIProviderOptions) {
    if (options.apiKey === '') throw new Error('the OpenAI provider needs an API key');
    this.#url = `${options.baseUrl.replace(/\/+$/, '')}/v1/images/generations`;
    this.#apiKey = options.apiKey;
    this.#responseBytesMax = options.responseBytesMax ?? providerLimits.responseBytesMax;
  }

  async generate(request: ImageRequest, signal: AbortSignal): Promise<ProviderImage> {
    const json = await postJson(this.#url, openaiRequestBody(request), {
      headers: { authorization: `Bearer ${this.#apiKey}` },
      signal,
      responseBytesMax: this.#responseBytesMax,
    });
    const parsed = ImagesResponse.safeParse(json);
    if (!parsed.success) throw new ProviderError('malformed', 'OpenAI answered without an inline image (data[0].b64_json)');
    return { data: decodeBase64Image(parsed.data.data[0]!.b64_json) };
  }
}
