/**
 * Error and close codes of protocol v1. Codes are stable strings (errors) and numbers (closes):
 * clients branch on them, so a code is never renamed or reused for another meaning.
 */

/** `error.code` and `ack.code` values. */
export const ErrorCode = {
  /** The bytes could not be decoded as MessagePack (binary) or JSON (text). */
  badEncoding: 'bad_encoding',
  /** The message decoded but is not an object with a string `t`, or breaks a structural limit. */
  badMessage: 'bad_message',
  /** `t` names no client message of this protocol version. */
  unknownType: 'unknown_type',
  /** The message failed validation (wrong or missing fields, values out of range). */
  invalidMessage: 'invalid_message',
  /** The message is valid but not allowed now (e.g. `next` before `hello`, a second `hello`). */
  outOfOrder: 'out_of_order',
  /** `hello.v` names a protocol version this server does not speak. */
  unsupportedVersion: 'unsupported_version',
  /** The connection sends faster than its message rate allows; the message was dropped. */
  rateLimited: 'rate_limited',
  /** Too many requests of this connection are still being processed; the message was dropped. */
  overloaded: 'overloaded',
  /** No frame can be served for this context right now. */
  noFrame: 'no_frame',
  /** The user's credits do not cover the request. */
  insufficientCredits: 'insufficient_credits',
  /** The idempotency key was used before with different parameters. */
  idempotencyMismatch: 'idempotency_mismatch',
  /** The command is part of the protocol but this server cannot carry it out yet. */
  notSupported: 'not_supported',
  /** A beacon arrived after its frame's beacon window closed; it is not counted. */
  lateBeacon: 'late_beacon',
  /** A beacon for a frame that was already reported; the first one counted. */
  duplicateBeacon: 'duplicate_beacon',
  /** A beacon for another user's frame; it is not counted. */
  foreignBeacon: 'foreign_beacon',
  /** A beacon names no frame this server decided (or one long forgotten). */
  unknownFrame: 'unknown_frame',
  /** Something failed on the server side; the session goes on. */
  internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** WebSocket close codes used by the server. */
export const CloseCode = {
  normal: 1000,
  /** The server process is going away for good (no restart expected). */
  goingAway: 1001,
  /** The peer broke the protocol in a way that cannot be answered with an `error`. */
  policyViolation: 1008,
  /** A message exceeded the protocol's size limit (`protocolLimits.messageBytesMax`). */
  messageTooBig: 1009,
  internalError: 1011,
  /** 4000-4099: the client should reconnect (with `hello.resume`). */
  serverRestarting: 4000,
  /** The session was idle past its limit or its token expired; reconnect with a fresh token. */
  sessionExpired: 4001,
  /** The client fell too far behind reading its socket; reconnect to start clean. */
  backpressure: 4002,
  /**
   * The session could not start: a server-side failure between `hello` and its `welcome`.
   * Reconnect (with `hello.resume` of an earlier session, as before).
   */
  startFailed: 4003,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes after which a client should reconnect. */
export function isReconnectCloseCode(code: number): boolean {
  return (code >= 4000 && code <= 4099) || code === CloseCode.goingAway || code === 1006;
}

/** `notice.code` values. */
export const NoticeCode = {
  conserveOn: 'conserve_on',
  conserveOff: 'conserve_off',
  sessionResumed: 'session_resumed',
  resumeUnavailable: 'resume_unavailable',
} as const;
export type NoticeCode = (typeof NoticeCode)[keyof typeof NoticeCode];
