/**
 * One copy of each short, often repeated text — a tier, a time zone, a genre, a day — however many
 * sessions hold it. A text read from PostgreSQL or decoded from a message is a new string every
 * time; ten thousand sessions of one genre would otherwise hold ten thousand copies of it.
 *
 * Bounded: at `max` distinct texts the pool starts over (texts already handed out stay valid; only
 * later copies are not shared with them), so neither a long uptime of varied music metadata nor a
 * client sending endless distinct labels can fill it for good or grow it.
 */
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
