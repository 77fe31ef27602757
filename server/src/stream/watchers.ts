/**
 * Who is watching which credit account on this node: live sessions register their account when
 * they say hello and leave when they close, so a credit change reaches exactly the sessions of
 * that account (a user's devices, or every member of a team pool). Bounded by open connections.
 */
export class BalanceWatchers {
  readonly #byAccount = new Map<string, Set<() => void>>();

  watch(accountId: string, onChange: () => void): () => void {
    let watchers = this.#byAccount.get(accountId);
    if (watchers === undefined) {
      watchers = new Set();
      this.#byAccount.set(accountId, watchers);
    }
    watchers.add(onChange);
    return () => {
      watchers.delete(onChange);
      if (watchers.size === 0) this.#byAccount.delete(accountId);
    };
  }

  notify(accountId: string): void {
    for (const onChange of this.#byAccount.get(accountId) ?? []) onChange();
  }

  get accountCount(): number {
    return this.#byAccount.size;
  }
}
