/**
 * A tiny typed event emitter. `on` returns the way to unsubscribe. A listener that throws does not
 * stop the others or the client: its error is reported (`reportError` in browsers, `console.error`
 * elsewhere) and the event goes on.
 */
type Listener<T> = (payload: T) => void;

/** Listeners per event; more is a leak (a player subscribing in a loop), and is refused. */
const listenersPerEventMax = 64;

export class Emitter<Events extends Record<string, unknown>> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    if (set.size >= listenersPerEventMax) throw new Error(`more than ${listenersPerEventMax} listeners for "${String(event)}"`);
    set.add(listener as Listener<never>);
    return () => {
      set.delete(listener as Listener<never>);
    };
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        reportListenerError(error);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}

function reportListenerError(error: unknown): void {
  const scope = globalThis as { reportError?: (error: unknown) => void; console?: { error: (...values: unknown[]) => void } };
  if (typeof scope.reportError === 'function') scope.reportError(error);
  else scope.console?.error('a Titrate client listener threw', error);
}
