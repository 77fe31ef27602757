/**
 * The client's connection state machine. One `set` checks every transition against the table, so
 * an impossible sequence (a `welcome` after `close()`) is a crash in tests, not a silent muddle.
 *
 * States:
 *   idle          constructed; no socket yet (listeners can be attached before `connect()`).
 *   connecting    the first attempt: socket opening, `hello` sent, waiting for `welcome`.
 *   live          `welcome` received; requests, beacons and stock flow.
 *   reconnecting  the connection was lost or an attempt failed; the next attempt waits out its
 *                 backoff. Prefetched frames are still handed out.
 *   offline       as reconnecting, but the player is being shown frames from the offline cache
 *                 (entered when the first cached frame is handed out; left on the next `welcome`).
 *   unauthorized  terminal: the token was refused and refreshing it did not help. No more attempts.
 *   closed        terminal: `close()` was called, attempts ran out, or the server closed for a
 *                 reason a reconnect would only repeat (1009).
 */
export const connectionStates = ['idle', 'connecting', 'live', 'reconnecting', 'offline', 'unauthorized', 'closed'] as const;
export type ConnectionState = (typeof connectionStates)[number];

export const connectionTransitions: Record<ConnectionState, readonly ConnectionState[]> = {
  idle: ['connecting', 'closed'],
  connecting: ['live', 'reconnecting', 'unauthorized', 'closed'],
  live: ['reconnecting', 'unauthorized', 'closed'],
  reconnecting: ['live', 'offline', 'unauthorized', 'closed'],
  offline: ['live', 'unauthorized', 'closed'],
  unauthorized: [],
  closed: [],
};

export function isTerminal(state: ConnectionState): boolean {
  return connectionTransitions[state].length === 0;
}

/** True while there is no usable connection but the client still tries to get one. */
export function isDisconnected(state: ConnectionState): boolean {
  return state === 'reconnecting' || state === 'offline' || state === 'connecting';
}

export class ConnectionStateMachine {
  #state: ConnectionState = 'idle';

  get state(): ConnectionState {
    return this.#state;
  }

  /** Moves to `next`; throws on a transition the table does not allow (a programming error). */
  set(next: ConnectionState): ConnectionState {
    const previous = this.#state;
    if (!connectionTransitions[previous].includes(next)) throw new Error(`illegal client transition ${previous} → ${next}`);
    this.#state = next;
    return previous;
  }
}
