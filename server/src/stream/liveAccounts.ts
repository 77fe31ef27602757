/**
 * The credit accounts with live sessions on this node. An account has one entry while any of its
 * sessions is live, and the entry holds what those sessions have in common:
 *
 * - who hears of the account's credit changes (a user's devices, or every member of a team pool),
 *   so a change reaches exactly those sessions;
 * - one user account its sessions may keep. Each socket reads its user's row when it connects; a
 *   session whose read equals the one held here keeps the held object instead of its own, so a
 *   user's devices share one account object rather than one each (in a team pool, the devices of
 *   the member held). A newer read of the held user, one that differs, is held from then on;
 * - the account's demand (what it watched and spent on the days before), read from the session
 *   state once a local day for all of them rather than once a session: read when the first of them
 *   needs it, shared while the read is in flight, forgotten when a read fails.
 *
 * Entries leave with the account's last session, so the map is bounded by open connections.
 */
import type { Demand } from '../titration/forecast.js';
import { sameAccount, type UserAccount } from '../users/directory.js';

/**
 * `sessions` is replaced, never changed in place, so it is safe to walk while sessions come and go;
 * it is built with `concat` and `slice`, which size an array exactly (a spread or `filter` leaves
 * room for 16 more).
 */
type Presence<S> = { sessions: readonly S[]; account: UserAccount; demand: HeldDemand | null };

/**
 * An account's demand as read on its local day `dayKey`: the value once read, the read while it is
 * in flight, and meanwhile the value of the day before (forecasts use it rather than none).
 */
type HeldDemand = { dayKey: string; demand: Demand | null; reading: Promise<Demand> | null; earlier: Demand | null };

export class LiveAccounts<S> {
  readonly #byAccount = new Map<string, Presence<S>>();
  readonly #tell: (session: S) => void;

  /** `tell` is how a session hears that its account's credits changed. */
  constructor(tell: (session: S) => void) {
    this.#tell = tell;
  }

  /** The account object to keep for `account`, of credit account `accountId`: an equal one held here, or `account` itself. */
  shared(accountId: string, account: UserAccount): UserAccount {
    const presence = this.#byAccount.get(accountId);
    if (presence === undefined) return account;
    if (sameAccount(presence.account, account)) return presence.account;
    // The user's row changed since the held read: the sessions that come next share the new one.
    if (presence.account.id === account.id) presence.account = account;
    return account;
  }

  /** `session` of credit account `accountId` is live, keeping `account` (held for the others when it is the first). */
  join(accountId: string, session: S, account: UserAccount): void {
    const presence = this.#byAccount.get(accountId);
    if (presence === undefined) this.#byAccount.set(accountId, { sessions: [session], account, demand: null });
    else if (!presence.sessions.includes(session)) presence.sessions = presence.sessions.concat([session]);
  }

  /** `session` is no longer live; the account's entry goes with its last session. */
  leave(accountId: string, session: S): void {
    const presence = this.#byAccount.get(accountId);
    if (presence === undefined) return;
    const index = presence.sessions.indexOf(session);
    if (index === -1) return;
    if (presence.sessions.length === 1) this.#byAccount.delete(accountId);
    else presence.sessions = presence.sessions.slice(0, index).concat(presence.sessions.slice(index + 1));
  }

  /**
   * The demand of `accountId` on its local day `dayKey`: the one held for the account's live
   * sessions (at once when read already), or `read()`, held for them from now on. An account without
   * a live session here holds nothing: each ask reads.
   */
  demandOn(accountId: string, dayKey: string, read: () => Promise<Demand>): Demand | Promise<Demand> {
    const presence = this.#byAccount.get(accountId);
    const held = presence?.demand ?? null;
    if (held !== null && held.dayKey === dayKey) {
      if (held.demand !== null) return held.demand;
      if (held.reading !== null) return held.reading;
    }
    const reading = read();
    if (presence === undefined) return reading;
    const entry: HeldDemand = { dayKey, demand: null, reading, earlier: held === null ? null : (held.demand ?? held.earlier) };
    presence.demand = entry;
    reading.then(
      (demand) => {
        entry.demand = demand;
        entry.reading = null;
        entry.earlier = null;
      },
      // The asker hears of the failure; the next ask reads again.
      () => {
        entry.reading = null;
      },
    );
    return reading;
  }

  /** The demand of `accountId` as last read here, whatever its day (undefined before the first read or without live sessions). */
  lastDemand(accountId: string): Demand | undefined {
    const held = this.#byAccount.get(accountId)?.demand ?? null;
    return held === null ? undefined : (held.demand ?? held.earlier ?? undefined);
  }

  /** Tells every live session of `accountId` on this node that its credits changed. */
  notify(accountId: string): void {
    const presence = this.#byAccount.get(accountId);
    if (presence === undefined) return;
    for (const session of presence.sessions) this.#tell(session);
  }

  /** Accounts with a live session here. */
  get accountCount(): number {
    return this.#byAccount.size;
  }
}
