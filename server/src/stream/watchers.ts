/**
 * Who on this node is waiting to hear about what: live sessions watch their credit account (so a
 * credit change reaches exactly the sessions of that account — a user's devices, or every member
 * of a team pool) and the generations their pending `next` requests wait for. Entries leave when
 * the session closes or the wait ends, so the map is bounded by open connections and their
 * pending requests.
 */
export class Watchers {
  readonly #byKey = new Map<string, Set<() => void>>();

  watch(key: string, onChange: () => void): () => void {
    let watchers = this.#byKey.get(key);
    if (watchers === undefined) {
      watchers = new Set();
      this.#byKey.set(key, watchers);
    }
    watchers.add(onChange);
    return () => {
      watchers.delete(onChange);
      if (watchers.size === 0) this.#byKey.delete(key);
    };
  }

  notify(key: string): void {
    for (const onChange of [...(this.#byKey.get(key) ?? [])]) onChange();
  }

  get keyCount(): number {
    return this.#byKey.size;
  }
}
