/**
 * Wire codec of protocol v1: MessagePack on binary frames, JSON on text frames.
 *
 * Decoding is done in three steps, each with its own error code, so that a client learns exactly
 * what was wrong: bytes → value (`bad_encoding`), value → plain bounded object with a string `t`
 * (`bad_message`), object → typed message (`unknown_type` / `invalid_message`). The size limit is
 * checked first, before any parsing, so a hostile message costs at most `messageBytesMax` bytes of
 * work; the structural walk is iterative (no recursion over input) and bounded by the limits.
 */
import { Packr, Unpackr } from 'msgpackr';
import { ErrorCode } from './codes.js';
import { protocolLimits } from './limits.js';
import { clientMessageSchemas, describeIssues, type ClientMessage, type ServerMessage } from './protocol.js';

export const encodings = ['msgpack', 'json'] as const;
export type Encoding = (typeof encodings)[number];

export type Limits = {
  messageBytesMax: number;
  depthMax: number;
  stringLengthMax: number;
  collectionSizeMax: number;
};

const defaultLimits: Limits = protocolLimits;

// Records and structured clones are msgpackr extensions that other MessagePack peers do not speak.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, moreTypes: false });
// Undefined fields are left out at every depth, as JSON.stringify leaves them out (`skipValues`
// is a msgpackr option its type declarations do not list yet).
const packOptions = { useRecords: false, moreTypes: false, skipValues: [undefined] };
const packr = new Packr(packOptions);
const utf8 = new TextDecoder('utf-8', { fatal: true });

export type DecodeFailure = {
  ok: false;
  code: ErrorCode;
  message: string;
  /** The message exceeded the size limit: the transport closes the socket with 1009. */
  tooLarge: boolean;
  /** The request id, when the message was readable enough to carry one. */
  req?: string;
};
export type Decoded<T> = { ok: true; value: T } | DecodeFailure;

function failure(code: ErrorCode, message: string, extra: Partial<DecodeFailure> = {}): DecodeFailure {
  return { ok: false, code, message, tooLarge: false, ...extra };
}

/** Bytes (or text) → a plain value, enforcing the size limit and the codec's structure limits. */
export function decodeValue(data: Uint8Array | string, encoding: Encoding, limits: Limits = defaultLimits): Decoded<unknown> {
  const size = typeof data === 'string' ? utf8ByteLength(data) : data.byteLength;
  if (size > limits.messageBytesMax) {
    return failure(ErrorCode.badMessage, `message of ${size} bytes exceeds the limit of ${limits.messageBytesMax}`, {
      tooLarge: true,
    });
  }
  if (size === 0) return failure(ErrorCode.badEncoding, 'empty message');
  let value: unknown;
  try {
    if (encoding === 'msgpack') {
      if (typeof data === 'string') return failure(ErrorCode.badEncoding, 'MessagePack needs a binary frame');
      value = unpackr.unpack(data);
    } else {
      value = JSON.parse(typeof data === 'string' ? data : utf8.decode(data));
    }
  } catch {
    const name = encoding === 'msgpack' ? 'MessagePack' : 'JSON';
    return failure(ErrorCode.badEncoding, `message is not valid ${name}`);
  }
  // MessagePack's reserved byte 0xc1 decodes to undefined: that is not a message either.
  if (value === undefined) return failure(ErrorCode.badEncoding, 'message is not valid MessagePack');
  const problem = structureProblem(value, limits);
  if (problem !== null) {
    const req = typeof value === 'object' && value !== null && !Array.isArray(value) ? requestIdOf(value as Record<string, unknown>) : undefined;
    return failure(ErrorCode.badMessage, problem, req === undefined ? {} : { req });
  }
  return { ok: true, value };
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (no lookbehind: older browsers cannot parse it). */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/;
/** Whether `text` has no lone surrogate, by pattern: what `String.prototype.isWellFormed` answers, for engines without it. */
export const wellFormedByPattern = (text: string): boolean => !loneSurrogate.test(text);
/** `String.prototype.isWellFormed` where the engine has it (Node 20), the pattern elsewhere. */
const wellFormed: (text: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (text) => (text as string & { isWellFormed(): boolean }).isWellFormed()
    : wellFormedByPattern;

/**
 * Why a string from outside cannot be stored, or null. PostgreSQL's text and jsonb hold neither
 * U+0000 nor a lone surrogate (a JSON `\ud800` with no partner is invalid `jsonb`), so a request
 * id or a label carrying one would fail every statement it is written with — and the journal's
 * batches and the charges' group commits write many sessions' rows in one statement.
 */
export function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'strings must not contain U+0000';
  if (!wellFormed(text)) return 'strings must be well-formed Unicode (no lone surrogates)';
  return null;
}

/**
 * Returns why a decoded value is not a plain, bounded tree of JSON-like values, or null.
 * Walks with an explicit stack so that depth is checked before it can hurt.
 */
export function structureProblem(root: unknown, limits: Limits = defaultLimits): string | null {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: root, depth: 0 }];
  let visited = 0;
  const visitedMax = limits.collectionSizeMax * (limits.depthMax + 1);
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    visited += 1;
    if (visited > visitedMax) return 'message has too many values';
    if (value === null || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return 'numbers must be finite';
      continue;
    }
    if (typeof value === 'string') {
      if (value.length > limits.stringLengthMax) return `a string exceeds ${limits.stringLengthMax} characters`;
      const problem = textProblem(value);
      if (problem !== null) return problem;
      continue;
    }
    if (typeof value !== 'object') return `values of type ${typeof value} are not allowed`;
    if (depth >= limits.depthMax) return `message nests deeper than ${limits.depthMax} levels`;
    if (Array.isArray(value)) {
      if (value.length > limits.collectionSizeMax) return `an array exceeds ${limits.collectionSizeMax} items`;
      for (const item of value) stack.push({ value: item, depth: depth + 1 });
      continue;
    }
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return 'only plain objects, arrays and scalars are allowed';
    const keys = Object.keys(value);
    if (keys.length > limits.collectionSizeMax) return `an object exceeds ${limits.collectionSizeMax} keys`;
    for (const key of keys) {
      if (key.length > limits.stringLengthMax) return `a key exceeds ${limits.stringLengthMax} characters`;
      const problem = textProblem(key);
      if (problem !== null) return problem;
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1 });
    }
  }
  return null;
}

/** UTF-8 length of a string without encoding it (the codec also runs in browsers: no Buffer). */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index += 1) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length) {
      bytes += 4;
      index += 1;
    } else bytes += 3;
  }
  return bytes;
}

/** The message's request id, for an error's `req`: only an id that is itself valid, so the answer can carry it back as it came. */
function requestIdOf(value: Record<string, unknown>): string | undefined {
  const id = value['id'];
  return typeof id === 'string' && id.length > 0 && id.length <= protocolLimits.requestIdLengthMax && textProblem(id) === null ? id : undefined;
}

/** A decoded value → a validated client message. */
export function parseClientMessage(value: unknown): Decoded<ClientMessage> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return failure(ErrorCode.badMessage, 'a message must be an object with a string field "t"');
  }
  const record = value as Record<string, unknown>;
  const type = record['t'];
  if (typeof type !== 'string') return failure(ErrorCode.badMessage, 'a message must have a string field "t"');
  const req = requestIdOf(record);
  if (!Object.hasOwn(clientMessageSchemas, type)) {
    return failure(ErrorCode.unknownType, `unknown message type "${type.slice(0, 32)}"`, req === undefined ? {} : { req });
  }
  const schema = clientMessageSchemas[type as keyof typeof clientMessageSchemas];
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    return failure(ErrorCode.invalidMessage, `invalid ${type}: ${describeIssues(parsed.error)}`, req === undefined ? {} : { req });
  }
  return { ok: true, value: parsed.data as ClientMessage };
}

/** Bytes → a validated client message, in one call. */
export function decodeClientMessage(data: Uint8Array | string, encoding: Encoding, limits: Limits = defaultLimits): Decoded<ClientMessage> {
  const decoded = decodeValue(data, encoding, limits);
  return decoded.ok ? parseClientMessage(decoded.value) : decoded;
}

/** A message → bytes (MessagePack) or text (JSON). Undefined fields are left out in both. */
export function encodeMessage(message: ServerMessage | ClientMessage | Record<string, unknown>, encoding: Encoding): Uint8Array | string {
  if (encoding === 'json') return JSON.stringify(message);
  return packr.pack(message);
}

/** Decodes a server message on the client side (SDK, tests, load test). */
export function decodeServerMessage(data: Uint8Array | string, encoding: Encoding): unknown {
  if (encoding === 'msgpack') {
    if (typeof data === 'string') throw new Error('MessagePack needs binary data');
    return unpackr.unpack(data);
  }
  return JSON.parse(typeof data === 'string' ? data : utf8.decode(data));
}
