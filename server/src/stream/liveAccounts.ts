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
 *   state once a local day for all of them rather than once a session. A day is the local day of
 *   the session asking, so the members of a team pool in other time zones may ask for two or three
 *   days at once: each is held.
 *
 * Entries leave with the account's last session, so the map is bounded by open connections. A read
 * of a demand in flight is shared by every asker of its account and day, live or not yet, and is
 * forgotten when it ends: a failed read is read again at the next ask.
 */
import type { Demand } from '../titration/forecast.js';
import { sameAccount, type UserAccount } from '../users/directory.js';

/**
 * `sessions` is replaced, never changed in place, so it is safe to walk while sessions come and go;
 * it is built with `concat` and `slice`, which size an array exactly (a spread or `filter` leaves
 * room for 16 more).
 */
type Presence<S> = { sessions: readonly S[]; account: UserAccount; demands: readonly DayDemand[] };

/** An account's demand as read on one of its local days. */
export type DayDemand = { readonly dayKey: string; readonly demand: Demand };

/** Local days held per account, the earliest let go first: at any moment the Earth has at most three dates. */
const heldDaysMax = 3;

export class LiveAccounts<S> {
  readonly #byAccount = new Map<string, Presence<S>>();
  /** Reads of a demand in flight, by account and day (bounded by the reads in flight). */
  readonly #reading = new Map<string, Promise<Demand>>();
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

  /**
   * `session` of credit account `accountId` is live, keeping `account` (held for the others when it
   * is the first) and the account's demand it read (`read`, held unless one of that day is).
   */
  join(accountId: string, session: S, account: UserAccount, read?: DayDemand): void {
    const presence = this.#byAccount.get(accountId);
    if (presence === undefined) this.#byAccount.set(accountId, { sessions: [session], account, demands: read === undefined ? [] : [read] });
    else if (!presence.sessions.includes(session)) presence.sessions = presence.sessions.concat([session]);
    if (read !== undefined) this.#hold(accountId, read);
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
   * The demand of `accountId` on its local day `dayKey`: the one held for its live sessions here (at
   * once), else the read in flight for it, else `read()`, held once it ends if the account then has
   * a live session here.
   */
  demandOn(accountId: string, dayKey: string, read: () => Promise<Demand>): Demand | Promise<Demand> {
    const held = heldOn(this.#byAccount.get(accountId)?.demands, dayKey);
    if (held !== null) return held;
    const key = `${accountId}\n${dayKey}`;
    const inFlight = this.#reading.get(key);
    if (inFlight !== undefined) return inFlight;
    const reading = read();
    this.#reading.set(key, reading);
    const ended = () => {
      if (this.#reading.get(key) === reading) this.#reading.delete(key);
    };
    // Registered before the asker's own continuation, so the demand is held when the asker goes on.
    reading.then(
      (demand) => {
        ended();
        this.#hold(accountId, { dayKey, demand });
      },
      // The askers hear of the failure; the next ask reads again.
      ended,
    );
    return reading;
  }

  /** The demand of `accountId` as last held here, whatever its day (undefined while none is). */
  lastDemand(accountId: string): Demand | undefined {
    const demands = this.#byAccount.get(accountId)?.demands;
    return demands === undefined || demands.length === 0 ? undefined : demands[demands.length - 1]!.demand;
  }

  /** Holds `read` for the live sessions of `accountId`, unless a demand of its day is held already. */
  #hold(accountId: string, read: DayDemand): void {
    const presence = this.#byAccount.get(accountId);
    if (presence === undefined || heldOn(presence.demands, read.dayKey) !== null) return;
    if (presence.demands.length < heldDaysMax) {
      presence.demands = presence.demands.concat([read]);
      return;
    }
    // Full: the earliest day goes (day keys are ISO dates, so they sort by date), unless it is this one.
    let earliest = 0;
    for (let index = 1; index < presence.demands.length; index += 1) if (presence.demands[index]!.dayKey < presence.demands[earliest]!.dayKey) earliest = index;
    if (read.dayKey < presence.demands[earliest]!.dayKey) return;
    presence.demands = presence.demands.slice(0, earliest).concat(presence.demands.slice(earliest + 1), [read]);
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

/** The demand held for local day `dayKey` among `demands`, or null (a loop: this is on every frame's path). */
function heldOn(demands: readonly DayDemand[] | undefined, dayKey: string): Demand | null {
  if (demands === undefined) return null;
  for (let index = 0; index < demands.length; index += 1) if (demands[index]!.dayKey === dayKey) return demands[index]!.demand;
  return null;
}
