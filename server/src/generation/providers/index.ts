/**
 * Chooses the image provider from configuration. Configuration has already refused a missing key
 * or URL (`config.ts`), so reaching one here is a programmer error, not an operating one.
 */
import type { ProviderName } from '../models.js';
import { LocalProvider } from './local.js';
import { OpenAIProvider } from './openai.js';
import type { ImageProvider } from './provider.js';
import { StableDiffusionProvider } from './sd.js';

export type ProviderConfig = {
  genProvider: ProviderName;
  openaiBaseUrl: string;
  openaiApiKey?: string | undefined;
  sdBaseUrl?: string | undefined;
};

export type CreateProviderOptions = {
  /** Simulated render time of the local provider (demos and tests). */
  localDelayMs?: number;
  /** Response cap of the remote providers; defaults to `providerLimits.responseBytesMax`. */
  responseBytesMax?: number;
};

export function createProvider(config: ProviderConfig, options: CreateProviderOptions = {}): ImageProvider {
  switch (config.genProvider) {
    case 'local':
      return new LocalProvider({ delayMs: options.localDelayMs ?? 0 });
    case 'openai':
      if (config.openaiApiKey === undefined || config.openaiApiKey === '') throw new Error('GEN_PROVIDER=openai needs OPENAI_API_KEY');
      return new OpenAIProvider({ baseUrl: config.openaiBaseUrl, apiKey: config.openaiApiKey, responseBytesMax: options.responseBytesMax });
    case 'sd':
      if (config.sdBaseUrl === undefined || config.sdBaseUrl === '') throw new Error('GEN_PROVIDER=sd needs SD_BASE_URL');
      return new StableDiffusionProvider({ baseUrl: config.sdBaseUrl, responseBytesMax: options.responseBytesMax });
  }
}

export { LocalProvider } from './local.js';
export { OpenAIProvider } from './openai.js';
export { StableDiffusionProvider } from './sd.js';
export { normaliseImage, type NormalisedImage } from './normalise.js';
export { ProviderError, type ImageProvider, type ImageRequest, type ProviderImage } from './provider.js';
