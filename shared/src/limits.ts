/**
 * Protocol limits shared by the server, the SDK and the load test.
 *
 * Every message of protocol v1 is a small object (the largest legitimate one, a `hello` with a
 * long device string, is well under 1 KiB), so the limits below leave generous room while keeping
 * the cost of a hostile message bounded: decoding and validating at most `messageBytesMax` bytes
 * with at most `depthMax` levels of nesting is a constant amount of work per message.
 */
export const protocolLimits = {
  /** Largest encoded message a peer may send; larger ones close the socket with 1009. */
  messageBytesMax: 4096,
  /** Deepest nesting of objects/arrays accepted by the codec (a `hello` needs 2). */
  depthMax: 6,
  /** Longest string anywhere in a message, in UTF-16 code units. */
  stringLengthMax: 512,
  /** Most keys in one object and most items in one array. */
  collectionSizeMax: 64,
  /** Request ids (`next.id`, `burst.id`) are idempotency keys, 1..64 characters. */
  requestIdLengthMax: 64,
  /** Genre and mood come from music metadata; longer values are not metadata. */
  contextLabelLengthMax: 64,
  /** A device label reported in `hello`. */
  deviceLengthMax: 128,
  /** A session id handed back in `hello.resume`. */
  sessionIdLengthMax: 64,
  /** A frame id reported in `beacon.frame`. */
  frameIdLengthMax: 128,
  /** One dwell beacon cannot describe more than a day of watching a single frame. */
  dwellMsMax: 86_400_000,
  /** Most frames one `stock` request may ask for (an offline cache holds 5–10). */
  stockFramesMax: 10,
} as const;
