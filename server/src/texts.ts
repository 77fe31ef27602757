/**
 * One copy of each short, often repeated text — a tier, a time zone, a genre, a day — however many
 * sessions hold it. A text read from PostgreSQL or decoded from a message is a new string every
 * time; ten thousand sessions of one genre would otherwise hold ten thousand copies of it.
 *
 * Bounded: at `max` distinct texts the pool starts over (texts already handed out stay valid; only
 * later copies are not shared with them), so neither a long uptime of varied music metadata nor a
 * client sending endless distinct labels can fill it for good or grow it.
 */
import type { Context } from '@titrate/shared';

export class TextPool {
  readonly #texts = new Map<string, string>();
  readonly #max: number;
  readonly #lengthMax: number;

  /** At most `max` texts, each at most `lengthMax` characters long (longer ones are handed back as they are). */
  constructor(max: number, lengthMax = labelLengthMax) {
    this.#max = max;
    this.#lengthMax = lengthMax;
  }

  /** The pooled copy of `text` (pooling it when there is room). */
  of(text: string): string;
  of(text: string | null): string | null;
  of(text: string | null): string | null {
    if (text === null) return null;
    const pooled = this.#texts.get(text);
    if (pooled !== undefined) return pooled;
    if (text.length > this.#lengthMax) return text;
    if (this.#texts.size >= this.#max) this.#texts.clear();
    this.#texts.set(text, text);
    return text;
  }

  get size(): number {
    return this.#texts.size;
  }
}

/** Longer labels are not pooled: a label pool is for labels, not payloads. */
const labelLengthMax = 64;

/**
 * One frozen copy of each music context (genre, mood, energy) however many sessions hold it: the
 * players of one kind of music report the same few labels and energies, and a session keeps its
 * context for as long as it lives (an idle one keeps nothing else as large). Bounded like
 * `TextPool`: at `max` distinct contexts the pool starts over.
 */
export class ContextPool {
  readonly #contexts = new Map<string, Readonly<Context>>();
  readonly #texts: TextPool;
  readonly #max: number;

  constructor(texts: TextPool, max: number) {
    this.#texts = texts;
    this.#max = max;
  }

  /** The pooled, frozen copy of `context` (its labels pooled too). */
  of(context: Context): Readonly<Context> {
    // The genre's length first makes the key one context's alone, whatever the labels contain.
    const key = `${context.genre.length}:${context.genre}${context.mood}:${context.energy}`;
    const pooled = this.#contexts.get(key);
    if (pooled !== undefined) return pooled;
    const copy = Object.freeze({ genre: this.#texts.of(context.genre), mood: this.#texts.of(context.mood), energy: context.energy });
    if (this.#contexts.size >= this.#max) this.#contexts.clear();
    this.#contexts.set(key, copy);
    return copy;
  }

  get size(): number {
    return this.#contexts.size;
  }
}
