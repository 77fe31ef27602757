/**
 * The remote providers' one way to talk HTTP: a JSON POST whose every outcome becomes either parsed
 * JSON or a `ProviderError` with the right kind. The mapping is the point of this file:
 *
 *   the signal aborted (our deadline)       → timeout
 *   no connection, reset, refused redirect  → unavailable
 *   429                                     → rate_limited, with the wait from `Retry-After`
 *   5xx                                     → unavailable (the provider's trouble: try later or elsewhere)
 *   other 4xx                               → rejected (our request or the prompt: retrying will not help)
 *   a body past the cap, or not JSON        → malformed
 *
 * Bodies are read as a stream and cut at a cap, so a misbehaving provider cannot make us buffer
 * more than `responseBytesMax`. Error messages quote the provider (short, truncated) because that is
 * what an operator needs, but every value of the request headers is blanked out of the quote first:
 * providers like to echo the key they refused.
 *
 * Redirects are refused rather than followed: image APIs do not redirect, and following one would
 * carry the bearer key to wherever it points.
 */
import { ProviderError } from './provider.js';
import { providerLimits } from './limits.js';

export type PostJsonOptions = {
  headers?: Record<string, string>;
  signal: AbortSignal;
  responseBytesMax?: number;
};

/** POSTs `body` as JSON and returns the parsed JSON answer; throws `ProviderError` on anything else. */
export async function postJson(url: string, body: unknown, options: PostJsonOptions): Promise<unknown> {
  const target = describeUrl(url);
  const secrets = secretsOf(options.headers ?? {});
  const response = await send(url, body, options, target);
  if (response.status === 429) {
    await discard(response);
    const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'), Date.now());
    throw new ProviderError('rate_limited', `${target} is rate limited (429)`, { status: 429, retryAfterMs });
  }
  if (response.status < 200 || response.status > 299) {
    const excerpt = await errorExcerpt(response, options.signal, target, secrets);
    const kind = response.status >= 500 ? 'unavailable' : 'rejected';
    throw new ProviderError(kind, `${target} answered ${response.status}${excerpt === '' ? '' : `: ${excerpt}`}`, { status: response.status });
  }
  const bytesMax = options.responseBytesMax ?? providerLimits.responseBytesMax;
  const declaredBytes = Number(response.headers.get('content-length') ?? '0');
  if (declaredBytes > bytesMax) {
    await discard(response);
    throw new ProviderError('malformed', `${target} sent ${declaredBytes} bytes, more than the ${bytesMax} allowed`);
  }
  const read = await readCapped(response, bytesMax, options.signal, target);
  if (read.truncated) throw new ProviderError('malformed', `${target} sent more than the ${bytesMax} bytes allowed`);
  try {
    return JSON.parse(read.bytes.toString('utf8')) as unknown;
  } catch (error) {
    throw new ProviderError('malformed', `${target} did not answer JSON`, { cause: error });
  }
}

async function send(url: string, body: unknown, options: PostJsonOptions, target: string): Promise<Response> {
  try {
    return await fetch(url, {
      method: 'POST',
      headers: { ...options.headers, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: options.signal,
      redirect: 'error',
    });
  } catch (error) {
    if (options.signal.aborted) throw new ProviderError('timeout', `${target} did not answer before the deadline`, { cause: error });
    throw new ProviderError('unavailable', `${target} could not be reached (${networkErrorCode(error)})`, { cause: error });
  }
}

/** Reads a body up to `bytesMax` bytes; past that it stops reading and says so. */
async function readCapped(response: Response, bytesMax: number, signal: AbortSignal, target: string): Promise<{ bytes: Buffer; truncated: boolean }> {
  if (response.body === null) return { bytes: Buffer.alloc(0), truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes: Buffer.concat(chunks, total), truncated: false };
      if (total + value.byteLength > bytesMax) {
        await reader.cancel().catch(() => undefined);
        return { bytes: Buffer.concat([...chunks, value.subarray(0, bytesMax - total)], bytesMax), truncated: true };
      }
      chunks.push(value);
      total += value.byteLength;
    }
  } catch (error) {
    if (signal.aborted) throw new ProviderError('timeout', `${target} did not finish answering before the deadline`, { cause: error });
    throw new ProviderError('unavailable', `${target} broke off its answer (${networkErrorCode(error)})`, { cause: error });
  }
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/** The provider's own words about an error, short and with every header value blanked out. */
async function errorExcerpt(response: Response, signal: AbortSignal, target: string, secrets: readonly string[]): Promise<string> {
  const { bytes } = await readCapped(response, providerLimits.errorBodyBytesMax, signal, target);
  const text = bytes.toString('utf8');
  let message = text;
  try {
    message = messageOf(JSON.parse(text)) ?? text;
  } catch {
    // Not JSON: the raw text is the message.
  }
  return truncate(redact(message.replace(/\s+/g, ' ').trim(), secrets), providerLimits.errorExcerptCharsMax);
}

/**
 * The human part of an error body. OpenAI says `{error: {message}}`; the Stable Diffusion WebUI says
 * `{error: "<exception type>", errors: "<message>"}` for exceptions and `{detail}` for bad requests.
 */
function messageOf(json: unknown): string | null {
  if (typeof json !== 'object' || json === null) return null;
  const record = json as Record<string, unknown>;
  const nested = typeof record['error'] === 'object' && record['error'] !== null ? (record['error'] as Record<string, unknown>)['message'] : undefined;
  const parts = [nested, record['error'], record['detail'], record['errors'], record['message']].filter(
    (part): part is string => typeof part === 'string' && part.trim() !== '',
  );
  return parts.length === 0 ? null : [...new Set(parts)].join(': ');
}

/** Every word of every header value long enough to be a credential (the key in `Bearer <key>`). */
function secretsOf(headers: Record<string, string>): string[] {
  const secretCharsMin = 8;
  return Object.values(headers)
    .flatMap((value) => [value, ...value.split(/\s+/)])
    .filter((word) => word.length >= secretCharsMin)
    .sort((left, right) => right.length - left.length);
}

function redact(text: string, secrets: readonly string[]): string {
  let redacted = text;
  for (const secret of secrets) redacted = redacted.split(secret).join('[redacted]');
  return redacted;
}

function truncate(text: string, charsMax: number): string {
  return text.length <= charsMax ? text : `${text.slice(0, charsMax - 1)}…`;
}

/** Host and path only: never a query string or user info, which could carry credentials. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return 'the provider';
  }
}

/** undici wraps the system error (ECONNREFUSED, ECONNRESET…) in `cause`. */
function networkErrorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.message : 'network error';
}

/**
 * `Retry-After` as milliseconds from `nowMs`: either delta-seconds ("7") or an HTTP-date. A date
 * in the past means "now" (0). Absent or unreadable → null; longer than the cap → the cap.
 */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, providerLimits.retryAfterMsMax);
  // An HTTP-date starts with a day name ("Sun," in the usual form, "Sunday," in the obsolete one).
  if (!/^[A-Za-z]{3,9},? /.test(text)) return null;
  const dateMs = Date.parse(text);
  if (Number.isNaN(dateMs)) return null;
  return Math.min(Math.max(0, dateMs - nowMs), providerLimits.retryAfterMsMax);
}

/** A single character-class loop, so that checking megabytes costs no backtracking. */
const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

/** Strict base64 (standard alphabet, padded, no whitespace) → bytes; anything else is `malformed`. */
export function decodeBase64Image(text: string): Buffer {
  const charsMax = Math.ceil(providerLimits.imageBytesMax / 3) * 4;
  if (text.length === 0) throw new ProviderError('malformed', 'the provider sent an empty image');
  if (text.length > charsMax) throw new ProviderError('malformed', `the provider sent an image larger than ${providerLimits.imageBytesMax} bytes`);
  if (text.length % 4 !== 0 || !base64Pattern.test(text)) throw new ProviderError('malformed', 'the provider sent an image that is not valid base64');
  return Buffer.from(text, 'base64');
}
