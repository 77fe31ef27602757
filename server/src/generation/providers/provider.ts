/**
 * One interface for every image provider. Providers are the part of the system we do not control,
 * so the contract is narrow and pessimistic: a provider either returns image bytes or throws a
 * `ProviderError` whose `kind` says what went wrong. It must honour the abort signal (the
 * generation's deadline); whatever it returns is validated and normalised by `normaliseImage`
 * before anything is stored, so garbage never reaches a player.
 */
import type { Orientation } from '@titrate/shared';
import type { ModelSpec, ProviderName } from '../models.js';

export type ImageRequest = {
  prompt: string;
  negativePrompt: string;
  model: ModelSpec;
  /** The frame size the image will be fitted to (the provider may return another size). */
  width: number;
  height: number;
  orientation: Orientation;
  /** Deterministic seed derived from the prompt hash and variant. */
  seed: number;
  /** The musical context, for providers that draw from it directly (the local renderer). */
  genre: string;
  mood: string;
  style: string;
  energy: number;
};

export type ProviderImage = { data: Buffer };

export const providerErrorKinds = ['timeout', 'rate_limited', 'malformed', 'unavailable', 'rejected'] as const;
export type ProviderErrorKind = (typeof providerErrorKinds)[number];

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly kind: ProviderErrorKind;
  /** For `rate_limited`: how long the provider asked us to wait (from `Retry-After`). */
  readonly retryAfterMs: number | null;
  readonly status: number | null;

  constructor(kind: ProviderErrorKind, message: string, options: { retryAfterMs?: number | null; status?: number | null; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.status = options.status ?? null;
  }
}

export interface ImageProvider {
  readonly name: ProviderName;
  /** Generates one image; throws `ProviderError` (and only that) on failure; stops when `signal` aborts. */
  generate(request: ImageRequest, signal: AbortSignal): Promise<ProviderImage>;
}
