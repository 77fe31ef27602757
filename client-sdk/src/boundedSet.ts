/** A set that forgets its oldest members past `capacity`: memory of "already shown" with a ceiling. */
export class BoundedSet {
  readonly #members = new Set<string>();
  readonly #capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error('a bounded set needs a capacity of at least 1');
    this.#capacity = capacity;
  }

  has(value: string): boolean {
    return this.#members.has(value);
  }

  add(value: string): void {
    this.#members.delete(value);
    this.#members.add(value);
    if (this.#members.size > this.#capacity) this.#members.delete(this.#members.values().next().value as string);
  }

  delete(value: string): boolean {
    return this.#members.delete(value);
  }

  get size(): number {
    return this.#members.size;
  }
}
