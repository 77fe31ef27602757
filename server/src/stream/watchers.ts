/**
 * Who on this node is waiting to hear about what: live sessions watch their credit account (so a
 * credit change reaches exactly the sessions of that account — a user's devices, or every member
 * of a team pool) and the generations their pending `next` requests wait for. Entries leave when
 * the session closes or the wait ends, so the map is bounded by open connections and their
 * pending requests.
 *
 * A watcher is any value; `tell` says how it hears. A session watches as itself, so watching
 * costs it no closure of its own.
 */
export class Watchers<W> {
  readonly #byKey = new Map<string, Set<W>>();
  readonly #tell: (watcher: W) => void;

  constructor(tell: (watcher: W) => void) {
    this.#tell = tell;
  }

  watch(key: string, watcher: W): void {
    let watchers = this.#byKey.get(key);
    if (watchers === undefined) {
      watchers = new Set();
      this.#byKey.set(key, watchers);
    }
    watchers.add(watcher);
  }

  unwatch(key: string, watcher: W): void {
    const watchers = this.#byKey.get(key);
    if (watchers === undefined) return;
    watchers.delete(watcher);
    if (watchers.size === 0) this.#byKey.delete(key);
  }

  notify(key: string): void {
    const watchers = this.#byKey.get(key);
    if (watchers === undefined) return;
    for (const watcher of [...watchers]) this.#tell(watcher);
  }

  get keyCount(): number {
    return this.#byKey.size;
  }
}
