/**
 * Who on this node waits for which generation to end: the pending `next` requests of its sessions.
 * Entries leave when the wait ends, so the map is bounded by open connections and their pending
 * requests. (Credit accounts and their live sessions are kept in `liveAccounts.ts`.)
 *
 * A watcher is any value; `tell` says how it hears.
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
