/**
 * What the player says, as pure functions of what the server said: the cadence a BPM sets, the
 * forecast and mix in words, the badge's explanation, the burst countdown. The DOM code in
 * `main.ts` only puts these on screen.
 */
import type { Fallback, Forecast, FrameSource, Mix, Orientation } from '@titrate/shared';

export const playerLimits = {
  bpmMin: 60,
  bpmMax: 200,
  /** Beats per frame: a calm show changes with the phrase, a DJ set with the bar. */
  beatsPerFrame: 16,
  djBeatsPerFrame: 4,
  /** No frame is asked for sooner than this, whatever the BPM (the server allows ~40 messages/s). */
  frameIntervalMinMs: 1000,
  toastMs: 4000,
} as const;

/** Milliseconds between frames for a BPM (clamped to 60..200); DJ mode changes every bar. */
export function cadenceMs(bpm: number, djMode: boolean): number {
  const clamped = Math.min(playerLimits.bpmMax, Math.max(playerLimits.bpmMin, Number.isFinite(bpm) ? bpm : 120));
  const beats = djMode ? playerLimits.djBeatsPerFrame : playerLimits.beatsPerFrame;
  return Math.max(playerLimits.frameIntervalMinMs, Math.round((beats * 60_000) / clamped));
}

const riskWords: Record<Forecast['runOutRisk'], string> = { low: 'low', medium: 'medium', high: 'high' };

/** "Est. 6–9 fresh/day to finish the month on pace", and the run-out risk. */
export function forecastText(forecast: Forecast, unlimited: boolean): { line: string; risk: string } {
  if (unlimited) return { line: 'Unlimited plan: every frame can be fresh', risk: 'Run-out risk: none' };
  const low = Math.floor(forecast.freshPerDayLow);
  const high = Math.max(low, Math.ceil(forecast.freshPerDayHigh));
  const range = low === high ? `${low}` : `${low}–${high}`;
  return { line: `Est. ${range} fresh/day to finish the month on pace`, risk: `Run-out risk: ${riskWords[forecast.runOutRisk]}` };
}

export function mixText(mix: Mix): string {
  return `Fresh: ${mix.fresh} | Library: ${mix.library} this session`;
}

const fallbackWords: Record<Fallback, string> = {
  exact: '',
  crop: 'Cropped from a larger library image to fit the screen.',
  fill: 'A library image placed on a matching background to fit the screen.',
  forced_fresh: 'The library had nothing new for this music, so a fresh frame was made.',
  generation_failed: 'A fresh frame could not be made in time; nothing was charged for it.',
  congested: 'Generation is busy: a library frame now, the fresh one when it is ready.',
};

/** The badge and its tooltip: what the frame is, why, and what it cost. */
export function badgeOf(frame: { source: FrameSource; fallback: Fallback; charged: number; reasons: readonly string[]; offline?: boolean }): { label: string; tooltip: string } {
  if (frame.offline === true) return { label: 'Offline', tooltip: 'Shown from the cached frames while the connection is down.' };
  const label = frame.source === 'fresh' ? 'Fresh' : 'Library';
  const cost = frame.charged > 0 ? `${frame.charged} credit${frame.charged === 1 ? '' : 's'}.` : 'Free.';
  const reasons = frame.reasons.length > 0 ? `${capitalise(frame.reasons.join('; '))}.` : '';
  return { label, tooltip: [`${label} frame. ${cost}`, reasons, fallbackWords[frame.fallback]].filter((part) => part !== '').join(' ') };
}

/** "14:59" until the burst ends; null when it is over. */
export function countdown(untilMs: number, nowMs: number): string | null {
  const left = Math.ceil((untilMs - nowMs) / 1000);
  if (left <= 0) return null;
  return `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
}

/** The screen's orientation, or portrait when the viewer asks to try it. */
export function orientationOf(width: number, height: number, forcePortrait: boolean): Orientation {
  if (forcePortrait) return 'portrait';
  if (Math.abs(width - height) <= Math.min(width, height) * 0.1) return 'square';
  return width > height ? 'landscape' : 'portrait';
}

/** A token from the page URL's `?token=`, else the one the server offered, else none. */
export function tokenFrom(search: string, offered: string | null): string | null {
  const fromUrl = new URLSearchParams(search).get('token');
  return fromUrl !== null && fromUrl.length > 0 ? fromUrl : offered;
}

function capitalise(text: string): string {
  return text.length === 0 ? text : text[0]!.toUpperCase() + text.slice(1);
}
