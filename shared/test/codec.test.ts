import fc from 'fast-check';
import { Packr } from 'msgpackr';
import t from 'tap';
import {
  ClientMessage,
  ErrorCode,
  ServerMessage,
  decodeClientMessage,
  decodeServerMessage,
  decodeValue,
  encodeMessage,
  protocolLimits,
  utf8ByteLength,
  wellFormedByPattern,
  type Encoding,
} from '@titrate/shared';

const encodings: Encoding[] = ['json', 'msgpack'];
const context = { genre: 'techno', mood: 'dark', energy: 0.7 };
const clientExamples: ClientMessage[] = [
  { t: 'hello', v: 1, orientation: 'portrait', context, resume: 'session-1', device: 'tv' },
  { t: 'hello', v: 1, orientation: 'square', context },
  { t: 'next', id: 'req-1' },
  { t: 'next', id: 'x'.repeat(64), context },
  { t: 'context', context: { genre: 'jazz', mood: 'calm', energy: 0 } },
  { t: 'beacon', frame: 'abcdef0123456789', dwellMs: 5400, liked: true, skipped: false },
  { t: 'conserve', on: true },
  { t: 'burst', id: 'burst-1' },
];
const balance = { available: 180, used: 20, rollover: 0, cycleEnd: '2026-12-01T00:00:00.000Z' };
const serverExamples: ServerMessage[] = [
  {
    t: 'welcome', v: 1, session: 's', resumed: false, tier: 'basic', unlimited: false, balance,
    forecast: { freshPerDayLow: 5, freshPerDayHigh: 6.5, runOutRisk: 'low' }, mix: { fresh: 0, library: 0 }, conserve: false,
    burstUntil: null, orientation: 'landscape', context,
  },
  {
    t: 'frame', id: 'd', req: 'r', source: 'library', frameId: 'f', url: '/v1/frames/f', width: 1280, height: 720,
    orientation: 'landscape', fallback: 'exact', charged: 0, p: 0.25, balance,
    forecast: { freshPerDayLow: 5, freshPerDayHigh: 6.5, runOutRisk: 'low' }, mix: { fresh: 1, library: 2 },
    genre: 'techno', mood: 'dark', style: 'grid', reasons: ['library frame not seen in this session'],
  },
  { t: 'pending', req: 'r', etaMs: 1200 },
  { t: 'ack', req: 'b', ok: false, code: 'insufficient_credits' },
  { t: 'notice', code: 'conserve_on', text: 'saving' },
  { t: 'error', code: 'invalid_message', message: 'bad', req: 'r' },
];

t.test('every client message survives a round trip in both encodings', async (t) => {
  for (const encoding of encodings) {
    for (const message of clientExamples) {
      const decoded = decodeClientMessage(encodeMessage(message, encoding), encoding);
      t.same(decoded, { ok: true, value: message }, `${message.t} via ${encoding}`);
    }
  }
});

t.test('every server message survives a round trip and validates', async (t) => {
  for (const encoding of encodings) {
    for (const message of serverExamples) {
      const value = decodeServerMessage(encodeMessage(message, encoding), encoding);
      t.same(ServerMessage.parse(value), message, `${message.t} via ${encoding}`);
    }
  }
});

t.test('any valid next survives a round trip (property)', async (t) => {
  const nextArbitrary = fc.record({
    t: fc.constant('next' as const),
    id: fc.string({ minLength: 1, maxLength: 64 }),
  });
  fc.assert(
    fc.property(nextArbitrary, fc.constantFrom(...encodings), (message, encoding) => {
      const decoded = decodeClientMessage(encodeMessage(message, encoding), encoding);
      return decoded.ok && decoded.value.t === 'next' && decoded.value.id === message.id;
    }),
  );
  t.pass('property held');
});

t.test('arbitrary bytes never throw, and are either a message or a coded failure (property)', async (t) => {
  const codes = new Set<string>(Object.values(ErrorCode));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...encodings), (bytes, encoding) => {
      const decoded = decodeClientMessage(bytes, encoding);
      return decoded.ok || codes.has(decoded.code);
    }),
    { numRuns: 2000 },
  );
  t.pass('property held');
});

t.test('a message over the size limit is refused before parsing, as too large', async (t) => {
  const big = JSON.stringify({ t: 'next', id: 'a', pad: 'x'.repeat(protocolLimits.messageBytesMax) });
  const decoded = decodeValue(big, 'json');
  t.equal(decoded.ok, false);
  t.equal(!decoded.ok && decoded.tooLarge, true);
  t.equal(decodeValue(new Uint8Array(protocolLimits.messageBytesMax + 1), 'msgpack').ok, false);
});

t.test('undecodable bytes are a bad_encoding error', async (t) => {
  const cases: Array<[string | Uint8Array, Encoding]> = [
    ['{"t": "next",', 'json'],
    [new Uint8Array([0xff, 0xfe, 0x7b]), 'json'],
    [new Uint8Array([0xa5, 0x61]), 'msgpack'],
    [new Uint8Array([0x92, 0x01]), 'msgpack'],
    ['text in a binary encoding', 'msgpack'],
    ['', 'json'],
  ];
  for (const [data, encoding] of cases) {
    const decoded = decodeClientMessage(data, encoding);
    t.equal(!decoded.ok && decoded.code, ErrorCode.badEncoding, `${String(data).slice(0, 20)} via ${encoding}`);
  }
});

t.test('values that are not bounded plain trees are a bad_message error', async (t) => {
  const deep = JSON.stringify({ t: 'next', id: 'a', x: [[[[[[[[1]]]]]]]] });
  const longString = JSON.stringify({ t: 'next', id: 'a', x: 'y'.repeat(protocolLimits.stringLengthMax + 1) });
  const wideArray = JSON.stringify({ t: 'next', id: 'a', x: Array.from({ length: protocolLimits.collectionSizeMax + 1 }, () => 0) });
  const manyKeys = JSON.stringify(Object.fromEntries([['t', 'next'], ...Array.from({ length: 70 }, (_, index) => [`k${index}`, 0])]));
  for (const [label, text] of Object.entries({ deep, longString, wideArray, manyKeys })) {
    const decoded = decodeClientMessage(text, 'json');
    t.equal(!decoded.ok && decoded.code, ErrorCode.badMessage, label);
  }
  for (const [label, value] of Object.entries({ array: [1, 2], string: 'next', number: 3, noType: { id: 'a' }, numericType: { t: 4 } })) {
    const decoded = decodeClientMessage(JSON.stringify(value), 'json');
    t.equal(!decoded.ok && decoded.code, ErrorCode.badMessage, label);
  }
  const withExtensions = new Packr({ useRecords: false, moreTypes: true });
  const date = decodeClientMessage(withExtensions.pack({ t: 'next', id: 'a', at: new Date() }), 'msgpack');
  t.equal(!date.ok && date.code, ErrorCode.badMessage, 'a MessagePack timestamp is not a plain value');
  const binary = decodeClientMessage(withExtensions.pack({ t: 'next', id: new Uint8Array([1, 2]) }), 'msgpack');
  t.equal(!binary.ok && binary.code, ErrorCode.badMessage, 'MessagePack bin is not a plain value');
  const reserved = decodeClientMessage(new Uint8Array([0xc1]), 'msgpack');
  t.equal(!reserved.ok && reserved.code, ErrorCode.badMessage, 'the reserved byte 0xc1 is not a plain value');
  const infinity = decodeClientMessage(new Packr().pack({ t: 'context', context: { genre: 'a', mood: 'b', energy: Infinity } }), 'msgpack');
  t.equal(!infinity.ok && infinity.code, ErrorCode.badMessage, 'non-finite numbers are refused');
});

t.test('U+0000 in any string or key is a bad_message error that keeps the request id when the id itself is valid', async (t) => {
  const messages: Record<string, [unknown, string | undefined]> = {
    'in the request id': [{ t: 'next', id: 'r\u00001' }, undefined],
    'in a label': [{ t: 'next', id: 'r2', context: { genre: 'tech\u0000no', mood: 'dark', energy: 0.5 } }, 'r2'],
    'in a key': [{ t: 'next', id: 'r3', ['x\u0000']: 1 }, 'r3'],
    'in a device name': [{ t: 'hello', v: 1, orientation: 'portrait', device: '\u0000' }, undefined],
  };
  for (const [label, [message, req]] of Object.entries(messages)) {
    for (const encoding of encodings) {
      const decoded = decodeClientMessage(encodeMessage(message as ClientMessage, encoding), encoding);
      t.same(decoded.ok ? null : { code: decoded.code, message: decoded.message, req: decoded.req }, {
        code: ErrorCode.badMessage, message: 'strings must not contain U+0000', req,
      }, `${label} via ${encoding}`);
    }
  }
  const other = decodeClientMessage(JSON.stringify({ t: 'next', id: 'r4', context: { genre: 'a\u0001b', mood: 'dark', energy: 0.5 } }), 'json');
  t.ok(other.ok, 'other control characters are text like any other');
});

t.test('a lone surrogate in any string or key is a bad_message error; a pair is text like any other', async (t) => {
  const lone = { high: '\ud83c', low: 'x\udfa7', 'low then high': '\udfa7\ud83c' };
  for (const [label, text] of Object.entries(lone)) {
    for (const message of [{ t: 'next', id: text }, { t: 'next', id: 'r5', [text]: 1 }]) {
      const decoded = decodeClientMessage(JSON.stringify(message), 'json');
      t.same(decoded.ok ? null : { code: decoded.code, message: decoded.message }, {
        code: ErrorCode.badMessage, message: 'strings must be well-formed Unicode (no lone surrogates)',
      }, label);
    }
  }
  const paired = decodeClientMessage(JSON.stringify({ t: 'next', id: '🎧', context: { genre: 'techno 🎧', mood: 'dark', energy: 0.5 } }), 'json');
  t.ok(paired.ok);
  const fine = decodeClientMessage(JSON.stringify({ t: 'next', id: 'r6', context: { genre: 'x\ud800', mood: 'dark', energy: 0.5 } }), 'json');
  t.equal(!fine.ok && fine.req, 'r6', 'a valid request id is kept for the answer');
  // MessagePack carries UTF-8, which cannot spell a lone surrogate: its decoder reads U+FFFD instead.
  const encoded = decodeClientMessage(new Uint8Array([0x82, 0xa1, 0x74, 0xa4, 0x6e, 0x65, 0x78, 0x74, 0xa2, 0x69, 0x64, 0xa3, 0xed, 0xa0, 0x80]), 'msgpack');
  t.match(encoded, { ok: true, value: { t: 'next', id: /^\ufffd+$/ } });
});

t.test('the pattern for engines without isWellFormed agrees with it on every string of surrogates and others', async (t) => {
  const unit = fc.oneof(fc.integer({ min: 0xd800, max: 0xdfff }), fc.integer({ min: 0x20, max: 0x7e }), fc.constant(0xfffd));
  const result = fc.check(
    fc.property(fc.array(unit, { maxLength: 12 }), (units) => {
      const text = String.fromCharCode(...units);
      return wellFormedByPattern(text) === (text as string & { isWellFormed(): boolean }).isWellFormed();
    }),
    { numRuns: 2_000 },
  );
  t.notOk(result.failed, fc.defaultReportMessage(result) ?? 'the pattern and isWellFormed agreed');
});

t.test('an unknown type is named, and keeps the request id for the answer', async (t) => {
  const decoded = decodeClientMessage(JSON.stringify({ t: 'teleport', id: 'r9' }), 'json');
  t.same(decoded.ok ? null : { code: decoded.code, req: decoded.req }, { code: ErrorCode.unknownType, req: 'r9' });
  t.match(!decoded.ok && decoded.message, /teleport/);
});

t.test('a failed validation names the field and keeps the request id', async (t) => {
  const decoded = decodeClientMessage(JSON.stringify({ t: 'next', id: 'r1', context: { genre: 'techno', mood: 'dark', energy: 1.5 } }), 'json');
  t.equal(!decoded.ok && decoded.code, ErrorCode.invalidMessage);
  t.equal(!decoded.ok && decoded.req, 'r1');
  t.match(!decoded.ok && decoded.message, /context\.energy/);
});

t.test('utf8ByteLength agrees with the UTF-8 encoder', async (t) => {
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 50 }), (text) => utf8ByteLength(text) === new TextEncoder().encode(text).byteLength));
  t.equal(utf8ByteLength('é😀a'), 7);
});
