/**
 * The credit accounts with live sessions on this node. An account has one entry while any of its
 * sessions is live, and the entry holds what those sessions have in common:
 *
 * - who hears of the account's credit changes (a user's devices, or every member of a team pool),
 *   so a change reaches exactly those sessions;
 * - one user account its sessions may keep. Each socket reads its user's row when it connects; a
 *   session whose read equals the one held here keeps the held object instead of its own, so a
 *   user's devices share one account object rather than one each (in a team pool, the devices of
 *   the member held). A newer read of the held user, one that differs, is held from then on.
 *
 * Entries leave with the account's last session, so the map is bounded by open connections.
 */
import { sameAccount, type UserAccount } from '../users/directory.js';

/**
 * `sessions` is replaced, never changed in place, so it is safe to walk while sessions come and go;
 * it is built with `concat` and `slice`, which size an array exactly (a spread or `filter` leaves
 * room for 16 more).
 */
type Presence<S> = { sessions: readonly S[]; account: UserAccount };

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
    if (presence === undefined) this.#byAccount.set(accountId, { sessions: [session], account });
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
