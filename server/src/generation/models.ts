/**
 * The image models a server can route to, with what each costs the user (credits, an integer)
 * and what it costs us (US dollars, recorded per generation). Two grades per provider: `premium`
 * for the moments that matter and `cheap` for the rest; the router chooses between them.
 *
 * Prices are configuration (`GEN_MODELS`), not code: the defaults below are sane starting points
 * (list prices of late 2025 for the hosted APIs; a rough GPU-second estimate for Stable Diffusion;
 * nothing for the local renderer, which runs on our own CPU).
 */
import { z } from 'zod';

export const providerNames = ['local', 'openai', 'sd'] as const;
export type ProviderName = (typeof providerNames)[number];
export const modelGrades = ['premium', 'cheap'] as const;
export type ModelGrade = (typeof modelGrades)[number];

export const ModelSpec = z.object({
  /** Our name for the model, recorded per generation (metrics label, ledger details). */
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,47}$/),
  grade: z.enum(modelGrades),
  /** The provider's own model name (`model` for OpenAI, a checkpoint hint for SD, ignored by local). */
  providerModel: z.string().min(1).max(100),
  /** What one image costs the user. */
  credits: z.number().int().min(1).max(1000),
  /** What one image costs us. */
  usd: z.number().min(0).max(10),
  /** Sampling steps (SD) or render detail (local); more is slower and better. */
  steps: z.number().int().min(1).max(150),
  /** Provider quality hint (OpenAI `quality`). */
  quality: z.enum(['standard', 'hd']).default('standard'),
});
export type ModelSpec = z.infer<typeof ModelSpec>;

export const ModelTable = z
  .array(ModelSpec)
  .min(2)
  .max(8)
  .refine((models) => modelGrades.every((grade) => models.some((model) => model.grade === grade)), {
    message: 'needs at least one premium and one cheap model',
  })
  .refine((models) => new Set(models.map((model) => model.id)).size === models.length, { message: 'model ids must be unique' });

export const defaultModels: Record<ProviderName, ModelSpec[]> = {
  local: [
    { id: 'local-detailed', grade: 'premium', providerModel: 'procedural', credits: 2, usd: 0, steps: 2, quality: 'hd' },
    { id: 'local-sketch', grade: 'cheap', providerModel: 'procedural', credits: 1, usd: 0, steps: 1, quality: 'standard' },
  ],
  openai: [
    { id: 'dall-e-3', grade: 'premium', providerModel: 'dall-e-3', credits: 2, usd: 0.04, steps: 1, quality: 'standard' },
    { id: 'dall-e-2', grade: 'cheap', providerModel: 'dall-e-2', credits: 1, usd: 0.02, steps: 1, quality: 'standard' },
  ],
  sd: [
    { id: 'sd-quality', grade: 'premium', providerModel: 'sdxl', credits: 2, usd: 0.004, steps: 30, quality: 'standard' },
    { id: 'sd-fast', grade: 'cheap', providerModel: 'sdxl-turbo', credits: 1, usd: 0.0015, steps: 12, quality: 'standard' },
  ],
};

/** The first model of a grade (tables are ordered by preference). */
export function modelOfGrade(models: readonly ModelSpec[], grade: ModelGrade): ModelSpec {
  const model = models.find((candidate) => candidate.grade === grade);
  if (model === undefined) throw new Error(`no ${grade} model configured`);
  return model;
}
