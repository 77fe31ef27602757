/**
 * Pantry ingestion: an operator's own image becomes a library frame. The labels are checked and
 * normalised the way the catalog reads them (genre and mood are matched as lower-case letters and
 * digits, so "Hip-Hop" is stored as "hiphop" and lands in the bucket players ask for), the image
 * is decoded, analysed and re-encoded by `image.ts`, and the result is stored content-addressed:
 * adding the same picture twice stores it once and the first labels win.
 *
 * Every refusal is a `PantryIngestError` with a code the HTTP layer maps to a status, so a bad
 * label or a broken file is an answer, never a crash.
 */
import { z } from 'zod';
import { describeIssues } from '@titrate/shared';
import { normaliseLabel } from './catalog.js';
import { IngestError, ingestImage, type IngestedImage, type IngestErrorCode } from './image.js';
import type { FrameRow, FrameStore } from './store.js';

/** Bad labels, or whatever `image.ts` found wrong with the picture. */
export type IngestFailureCode = 'invalid_body' | IngestErrorCode;

export class PantryIngestError extends Error {
  readonly code: IngestFailureCode;

  constructor(code: IngestFailureCode, message: string) {
    super(message);
    this.name = 'PantryIngestError';
    this.code = code;
  }
}

/** A label is a bucket key, not prose: 64 letters and digits name any genre, mood or style. */
const labelLengthMax = 64;
/** Raw labels longer than this are not music metadata, whatever they normalise to. */
const labelInputLengthMax = 256;
const styleDefault = 'custom';

const label = z
  .string()
  .max(labelInputLengthMax)
  .transform(normaliseLabel)
  .pipe(z.string().min(1, 'needs at least one letter or digit').max(labelLengthMax, `is at most ${labelLengthMax} letters and digits`));

const FrameLabelsSchema = z.strictObject({
  genre: label,
  mood: label,
  style: label.optional(),
  // Kept to four decimals: the column is a PostgreSQL real, which refuses a value as small as 1e-50.
  energy: z.number().min(0).max(1).transform((energy) => Math.round(energy * 10_000) / 10_000).optional(),
});

export type FrameLabelsInput = z.input<typeof FrameLabelsSchema>;
/** Labels as stored: normalised, with the default style and no energy as null. */
export type FrameLabels = { genre: string; mood: string; style: string; energy: number | null };

/** Checks and normalises labels from any source (JSON, a query string turned into an object, form fields). */
export function parseFrameLabels(input: unknown): FrameLabels {
  const parsed = FrameLabelsSchema.safeParse(input);
  if (!parsed.success) throw new PantryIngestError('invalid_body', describeIssues(parsed.error));
  return { genre: parsed.data.genre, mood: parsed.data.mood, style: parsed.data.style ?? styleDefault, energy: parsed.data.energy ?? null };
}

export type PantryIngestOptions = {
  frames: FrameStore;
  /** Called once for each frame that was not stored before (the catalog indexes it). */
  onAdded: (frame: FrameRow) => void;
  /** Decodes, checks and analyses an image; `image.ts` unless a test needs otherwise. */
  ingestImage?: (data: Buffer) => Promise<IngestedImage>;
};

export class PantryIngest {
  readonly #frames: FrameStore;
  readonly #onAdded: (frame: FrameRow) => void;
  readonly #ingestImage: (data: Buffer) => Promise<IngestedImage>;

  constructor(options: PantryIngestOptions) {
    this.#frames = options.frames;
    this.#onAdded = options.onAdded;
    this.#ingestImage = options.ingestImage ?? ingestImage;
  }

  /** Stores one image as a library frame; `created` is false when the same picture was there already. */
  async add(request: FrameLabelsInput & { data: Buffer }): Promise<{ frame: FrameRow; created: boolean }> {
    const { data, ...labels } = request;
    const checked = parseFrameLabels(labels);
    const image = await this.#decode(data);
    const { frame, created } = await this.#frames.addNew({
      source: 'library', genre: checked.genre, mood: checked.mood, style: checked.style, energy: checked.energy,
      orientation: image.orientation, width: image.width, height: image.height, contentType: image.contentType,
      data: image.data, prompt: null, analysis: image.analysis,
    });
    if (created) this.#onAdded(frame);
    return { frame, created };
  }

  async #decode(data: Buffer): Promise<IngestedImage> {
    try {
      return await this.#ingestImage(data);
    } catch (error) {
      if (error instanceof IngestError) throw new PantryIngestError(error.code, error.message);
      throw error;
    }
  }
}
