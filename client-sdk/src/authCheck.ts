/**
 * Why did the socket fail? A browser cannot see the HTTP status of a refused upgrade (the server
 * answers 401/403 before upgrading, and the socket only reports an error), so after a connection
 * fails before opening, the client asks `GET /v1/auth/check` with the same token. A refused token
 * means refresh or stop; anything else (accepted, unreachable, an older server without the route)
 * means the network or the server failed, and backoff applies.
 */
import { authCheckUrl, authVerdictOf, type AuthVerdict } from './endpoints.js';
import { newAbortController, type FetchFunction, type FetchInit, type Timers } from './platform.js';

export async function checkToken(fetch: FetchFunction, httpBase: string, token: string, timers: Timers, timeoutMs: number): Promise<AuthVerdict> {
  const controller = newAbortController();
  let timer: unknown = null;
  const timeout = new Promise<AuthVerdict>((resolve) => {
    timer = timers.setTimeout(() => {
      controller?.abort();
      resolve('unknown');
    }, timeoutMs);
  });
  const init: FetchInit = { headers: { authorization: `Bearer ${token}` } };
  if (controller !== null) init.signal = controller.signal;
  const check = (async (): Promise<AuthVerdict> => {
    const response = await fetch(authCheckUrl(httpBase), init);
    // The body is read so that the connection is released; its content does not matter.
    await response.json().catch(() => null);
    return authVerdictOf(response.status);
  })().catch((): AuthVerdict => 'unknown');
  try {
    return await Promise.race([check, timeout]);
  } finally {
    timers.clearTimeout(timer as never);
  }
}
