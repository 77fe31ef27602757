/**
 * The one error type the SDK rejects promises with. `code` is either a server error code
 * (`no_frame`, `idempotency_mismatch`, … from `@titrate/shared`'s `ErrorCode`) or one of the
 * SDK's own below; players branch on `code`, never on `message`.
 */
export const ClientErrorCode = {
  /** The client was closed (by `close()`, or after too many failed reconnects). */
  closed: 'closed',
  /** The token was refused and refreshing it did not help. */
  unauthorized: 'unauthorized',
  /** Too many `next()` calls are already waiting (`sdkLimits.nextWaitersMax`). */
  tooManyWaiting: 'too_many_waiting',
  /** Too many bursts are waiting for their ack (`sdkLimits.burstsPendingMax`). */
  tooManyPending: 'too_many_pending',
  /** `setContext` or the `context` option got a context the protocol does not accept. */
  invalidContext: 'invalid_context',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

export class TitrateError extends Error {
  readonly code: string;
  /** The request the server's error answered, when it named one. */
  readonly req: string | undefined;

  constructor(code: string, message: string, req?: string) {
    super(message);
    this.name = 'TitrateError';
    this.code = code;
    this.req = req;
  }
}
