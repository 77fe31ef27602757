/** Server messages for tests, valid against the shared schemas. */
import type { FrameMessage, StockFrame, Welcome } from '@titrate/shared';

export const balance = { available: 100, used: 0, rollover: 0, cycleEnd: '2030-01-01T00:00:00.000Z' };
export const forecast = { freshPerDayLow: 1, freshPerDayHigh: 2, runOutRisk: 'low' as const };
export const context = { genre: 'techno', mood: 'energetic', energy: 0.8 };

export function welcome(session: string, resumed = false): Welcome {
  return {
    t: 'welcome', v: 1, session, resumed, tier: 'basic', unlimited: false, balance, forecast, mix: { fresh: 0, library: 0 },
    conserve: false, burstUntil: null, orientation: 'landscape', context,
  };
}

export function frame(req: string, overrides: Partial<FrameMessage> = {}): FrameMessage {
  return {
    t: 'frame', id: `d-${req}`, req, source: 'library', frameId: `f-${req}`, url: `/v1/frames/f-${req}`, width: 1920, height: 1080,
    orientation: 'landscape', fallback: 'exact', charged: 0, p: 0, balance, forecast, mix: { fresh: 0, library: 1 },
    genre: 'techno', mood: 'energetic', style: 'neon', reasons: [], ...overrides,
  };
}

export function stockFrame(index: number, overrides: Partial<StockFrame> = {}): StockFrame {
  return {
    id: `stock-${index}`, frameId: `library-${index}`, url: `/v1/frames/library-${index}`, width: 1920, height: 1080,
    orientation: 'landscape', fallback: 'exact', genre: 'techno', mood: 'energetic', style: 'neon', ...overrides,
  };
}
