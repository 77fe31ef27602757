/**
 * Dwell: how long a frame stayed on screen. A frame's dwell ends when the next frame is shown (or
 * the client closes), so dwell = shownAt(next) − shownAt(this). One beacon reports it, with the
 * like/skip marks the player set while the frame was up.
 *
 * The clock is the player's own: a clock stepping backwards (NTP, a resumed laptop) must not
 * produce a negative dwell, and a frame left up over a weekend is reported as the protocol's
 * ceiling (a day), not refused.
 */
import { protocolLimits, type Beacon } from '@titrate/shared';

/** A beacon as the SDK sends it: always with an id (so the server acks it) and `shownAt`. */
export type BeaconMessage = Beacon & { id: string; shownAt: number };

/** The frame on screen, as far as its beacon needs it. */
export type ShownFrame = {
  /** What the beacon names: the decision id (`frame.id`) or the stock item's id for an offline frame. */
  frame: string;
  shownAtMs: number;
  liked: boolean;
  skipped: boolean;
  offline: boolean;
};

export function dwellMs(shownAtMs: number, endedAtMs: number): number {
  const elapsed = Math.round(endedAtMs - shownAtMs);
  if (!Number.isFinite(elapsed) || elapsed <= 0) return 0;
  return Math.min(elapsed, protocolLimits.dwellMsMax);
}

export function beaconFor(shown: ShownFrame, endedAtMs: number, id: string): BeaconMessage {
  const beacon: BeaconMessage = {
    t: 'beacon',
    id,
    frame: shown.frame,
    dwellMs: dwellMs(shown.shownAtMs, endedAtMs),
    shownAt: Math.max(0, Math.floor(shown.shownAtMs)),
  };
  if (shown.liked) beacon.liked = true;
  if (shown.skipped) beacon.skipped = true;
  if (shown.offline) beacon.offline = true;
  return beacon;
}
