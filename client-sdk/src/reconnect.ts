/**
 * When to try again, and whether to.
 *
 * Backoff is "full jitter" exponential: the delay before attempt n (0-based count of failures so
 * far) is `random() × min(maxMs, baseMs × 2^n)`. Drawing the whole delay uniformly from zero to the
 * exponential ceiling spreads thousands of players that lost the same server across the window,
 * so a restarted server is not hit by all of them in the same instant (a fixed or "equal" jitter
 * keeps them clustered), while the ceiling still grows fast enough to spare a server that is down.
 *
 * How the server closed decides what follows: reconnect (with `hello.resume`), refresh the token
 * first (4001), give up as unauthorized (1008: the user is unknown), or stop (the client broke the
 * protocol; a reconnect would only repeat it).
 */
import { CloseCode, isReconnectCloseCode } from '@titrate/shared';

export type ReconnectOptions = { baseMs: number; maxMs: number; attemptsMax: number };

/** The wait before the attempt that follows `failures` consecutive failures. */
export function backoffDelayMs(failures: number, random: () => number, options: Pick<ReconnectOptions, 'baseMs' | 'maxMs'>): number {
  if (!Number.isInteger(failures) || failures < 0) throw new Error(`failures must be a non-negative integer, got ${failures}`);
  // 2^failures overflows to Infinity long after it passed any ceiling; min keeps it finite.
  const ceilingMs = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(failures, 52));
  const draw = Math.min(Math.max(random(), 0), 1);
  return Math.floor(draw * ceilingMs);
}

/** True when `failures` consecutive failed attempts mean: stop trying. */
export function attemptsExhausted(failures: number, options: Pick<ReconnectOptions, 'attemptsMax'>): boolean {
  return failures >= options.attemptsMax;
}

export type CloseAction = 'reconnect' | 'refresh' | 'unauthorized' | 'stop';

/** Close codes that say the client itself broke the protocol: reconnecting would break it again. */
const clientFaultCodes: readonly number[] = [1002, 1003, 1007, CloseCode.messageTooBig];

/** What to do after the server closed an open socket with `code`. */
export function closeAction(code: number): CloseAction {
  if (code === CloseCode.sessionExpired) return 'refresh';
  if (isReconnectCloseCode(code)) return 'reconnect';
  if (code === CloseCode.policyViolation) return 'unauthorized';
  if (clientFaultCodes.includes(code)) return 'stop';
  // 1000, 1005, 1011, 1012, 1013 and codes this version does not know: a proxy or a crashing
  // server closed us. Retrying with backoff (bounded by attemptsMax) serves a player best.
  return 'reconnect';
}
