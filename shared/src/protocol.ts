/**
 * Protocol v1 messages as zod schemas, with their inferred types.
 *
 * Every message is one object with a string field `t`. Client messages are validated by the
 * server; server messages are validated by the SDK and by tests, so both sides read the same
 * definition. Unknown fields are stripped rather than refused, so that a newer client can talk
 * to an older server (the contract may only grow).
 */
import { z } from 'zod';
import { protocolLimits } from './limits.js';

export const protocolVersion = 1 as const;

export const orientations = ['landscape', 'portrait', 'square'] as const;
export const Orientation = z.enum(orientations);
export type Orientation = z.infer<typeof Orientation>;

const label = z.string().trim().min(1).max(protocolLimits.contextLabelLengthMax);

/** What is playing: free-form genre and mood from the music's metadata, energy in 0..1. */
export const Context = z.object({
  genre: label,
  mood: label,
  energy: z.number().min(0).max(1),
});
export type Context = z.infer<typeof Context>;

export const RequestId = z.string().min(1).max(protocolLimits.requestIdLengthMax);

// ---------------------------------------------------------------------------------------------
// Client to server

export const Hello = z.object({
  t: z.literal('hello'),
  v: z.number().int(),
  orientation: Orientation,
  context: Context,
  resume: z.string().min(1).max(protocolLimits.sessionIdLengthMax).optional(),
  device: z.string().max(protocolLimits.deviceLengthMax).optional(),
});
export type Hello = z.infer<typeof Hello>;

export const Next = z.object({
  t: z.literal('next'),
  id: RequestId,
  context: Context.optional(),
});
export type Next = z.infer<typeof Next>;

export const ContextChange = z.object({
  t: z.literal('context'),
  context: Context,
});
export type ContextChange = z.infer<typeof ContextChange>;

/**
 * How a shown frame was received: how long it stayed on screen (from shown to the next frame
 * shown), whether it was liked or skipped. `frame` names a `frame.id` (a decision) or a
 * `stock` item's id. With an `id` the server answers `ack {req: id, ok, code?, reward?}` and a
 * replay of the same beacon is harmless; `offline` marks a frame shown while disconnected, and
 * `shownAt` (epoch ms, the client's clock) when it went on screen.
 */
export const Beacon = z.object({
  t: z.literal('beacon'),
  frame: z.string().min(1).max(protocolLimits.frameIdLengthMax),
  dwellMs: z.number().int().min(0).max(protocolLimits.dwellMsMax),
  liked: z.boolean().optional(),
  skipped: z.boolean().optional(),
  id: RequestId.optional(),
  offline: z.boolean().optional(),
  shownAt: z.number().int().min(0).optional(),
});
export type Beacon = z.infer<typeof Beacon>;

export const Conserve = z.object({
  t: z.literal('conserve'),
  on: z.boolean(),
});
export type Conserve = z.infer<typeof Conserve>;

export const Burst = z.object({
  t: z.literal('burst'),
  id: RequestId,
});
export type Burst = z.infer<typeof Burst>;

/**
 * Asks for up to `count` unseen library frames of the current context and screen to keep for a
 * time without a connection. Nothing is decided, counted or marked seen until a beacon reports
 * one of them shown.
 */
export const Stock = z.object({
  t: z.literal('stock'),
  id: RequestId,
  count: z.number().int().min(1).max(protocolLimits.stockFramesMax),
});
export type Stock = z.infer<typeof Stock>;

export const clientMessageSchemas = {
  hello: Hello,
  next: Next,
  context: ContextChange,
  beacon: Beacon,
  conserve: Conserve,
  burst: Burst,
  stock: Stock,
} as const;
export type ClientMessageType = keyof typeof clientMessageSchemas;
export const ClientMessage = z.discriminatedUnion('t', [Hello, Next, ContextChange, Beacon, Conserve, Burst, Stock]);
export type ClientMessage = z.infer<typeof ClientMessage>;

// ---------------------------------------------------------------------------------------------
// Server to client

export const Balance = z.object({
  available: z.number().int(),
  used: z.number().int(),
  rollover: z.number().int(),
  cycleEnd: z.string(),
});
export type Balance = z.infer<typeof Balance>;

export const runOutRisks = ['low', 'medium', 'high'] as const;
export const Forecast = z.object({
  freshPerDayLow: z.number(),
  freshPerDayHigh: z.number(),
  runOutRisk: z.enum(runOutRisks),
});
export type Forecast = z.infer<typeof Forecast>;

export const Mix = z.object({
  fresh: z.number().int().min(0),
  library: z.number().int().min(0),
});
export type Mix = z.infer<typeof Mix>;

export const frameSources = ['fresh', 'library'] as const;
export const FrameSource = z.enum(frameSources);
export type FrameSource = z.infer<typeof FrameSource>;

export const fallbacks = ['exact', 'crop', 'fill', 'forced_fresh', 'generation_failed', 'congested'] as const;
export const Fallback = z.enum(fallbacks);
export type Fallback = z.infer<typeof Fallback>;

export const Welcome = z.object({
  t: z.literal('welcome'),
  v: z.number().int(),
  session: z.string(),
  resumed: z.boolean(),
  tier: z.string(),
  unlimited: z.boolean(),
  balance: Balance,
  forecast: Forecast,
  mix: Mix,
  conserve: z.boolean(),
  burstUntil: z.string().nullable(),
  /** Credits one burst costs on this tier (absent from servers before the web player). */
  burstPrice: z.number().int().min(0).optional(),
  orientation: Orientation,
  context: Context,
});
export type Welcome = z.infer<typeof Welcome>;

export const FrameMessage = z.object({
  t: z.literal('frame'),
  id: z.string(),
  req: z.string(),
  source: FrameSource,
  frameId: z.string(),
  url: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  orientation: Orientation,
  fallback: Fallback,
  charged: z.number().int().min(0),
  p: z.number().min(0).max(1),
  balance: Balance,
  /** Fresh frames per day that keep the user on pace, after this frame. */
  forecast: Forecast,
  mix: Mix,
  /** The bucket the frame was drawn from, after mapping the context to the closest one. */
  genre: z.string(),
  mood: z.string(),
  style: z.string(),
  /** Short phrases explaining the decision, for a player's tooltip. */
  reasons: z.array(z.string()),
});
export type FrameMessage = z.infer<typeof FrameMessage>;

/** One frame of a `stock` answer: a library frame the client may show while offline. */
export const StockFrame = FrameMessage.pick({
  /** The stock item's id: what a beacon names once the frame was shown. */
  id: true,
  frameId: true,
  url: true,
  width: true,
  height: true,
  orientation: true,
  fallback: true,
  genre: true,
  mood: true,
  style: true,
});
export type StockFrame = z.infer<typeof StockFrame>;

export const StockMessage = z.object({
  t: z.literal('stock'),
  req: z.string(),
  frames: z.array(StockFrame),
});
export type StockMessage = z.infer<typeof StockMessage>;

export const Pending = z.object({
  t: z.literal('pending'),
  req: z.string(),
  etaMs: z.number().int().min(0),
});
export type Pending = z.infer<typeof Pending>;

export const Ack = z.looseObject({
  t: z.literal('ack'),
  req: z.string(),
  ok: z.boolean(),
  code: z.string().optional(),
});
export type Ack = z.infer<typeof Ack>;

export const BalanceMessage = z.object({
  t: z.literal('balance'),
  balance: Balance,
  forecast: Forecast,
});
export type BalanceMessage = z.infer<typeof BalanceMessage>;

export const Notice = z.object({
  t: z.literal('notice'),
  code: z.string(),
  text: z.string(),
});
export type Notice = z.infer<typeof Notice>;

export const ErrorMessage = z.object({
  t: z.literal('error'),
  code: z.string(),
  message: z.string(),
  req: z.string().optional(),
});
export type ErrorMessage = z.infer<typeof ErrorMessage>;

export const ServerMessage = z.discriminatedUnion('t', [
  Welcome,
  FrameMessage,
  Pending,
  Ack,
  BalanceMessage,
  Notice,
  ErrorMessage,
  StockMessage,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

/** Turns a zod error into one readable line: `context.energy: Too big: expected number to be <=1`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
