/** Event waits for integration tests: generous timeouts, never fixed sleeps standing in for a condition. */
import type { TitrateClient } from '../../src/client.js';
import type { ConnectionState } from '../../src/connectionState.js';

export function stateReached(client: TitrateClient, state: ConnectionState, timeoutMs = 15_000): Promise<void> {
  if (client.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`state ${state} not reached within ${timeoutMs} ms (now ${client.state})`));
    }, timeoutMs);
    const unsubscribe = client.on('state', (change) => {
      if (change.state !== state) return;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    });
  });
}

/** Polls `probe` until it holds, up to `timeoutMs`. */
export async function eventually(probe: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
