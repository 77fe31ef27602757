/**
 * How a library frame fits a screen (pure). The fallback chain, best first:
 *
 *   exact  the master has the screen's orientation: it is shown as stored.
 *   crop   a window of the screen's aspect ratio is cut from a master of another orientation,
 *          placed on the master's focus and shifted so that its safe area stays whole. Allowed only
 *          when the window is large enough (at most `cropUpscaleMax` enlargement to the frame size:
 *          "a crop from a larger master", not a blurry zoom) and the safe area fits inside it.
 *   fill   the whole master, fitted inside the screen, on a background extended from its own
 *          colours. Always possible, never loses the picture, but shows less of the screen.
 *
 * The safe area and focus come from the image analysis at ingestion (`image.ts`): the safe area is
 * the smallest box holding most of what draws the eye, in fractions of the master's size.
 */
import type { Orientation } from '@titrate/shared';
import { frameSizes } from './art.js';

export const fits = ['exact', 'crop', 'fill'] as const;
export type Fit = (typeof fits)[number];

/** A box in fractions (0..1) of an image's width and height. */
export type Rect = { x: number; y: number; width: number; height: number };
export type Point = { x: number; y: number };
export type PaletteColor = { r: number; g: number; b: number; share: number };

/** What ingestion learns about an image. */
export type FrameAnalysis = {
  /** Dominant colours, most common first (shares sum to ~1). */
  palette: PaletteColor[];
  /** The box that must stay in frame when the image is cropped. */
  safeArea: Rect;
  /** Where the eye goes first (libvips' attention), inside the safe area. */
  focus: Point;
};

/** A box in pixels of the master. */
export type PixelRect = { left: number; top: number; width: number; height: number };
export type FitPlan = { fit: Fit; window: PixelRect | null };

export const fitLimits = {
  /**
   * The most a crop window may be enlarged to reach the frame size. Beyond 1.5× the loss of detail
   * shows on a full screen; the fill keeps the picture sharp instead.
   */
  cropUpscaleMax: 1.5,
  /** Aspect ratios within this factor of 1 count as square. */
  squareAspectMax: 1.1,
} as const;

/** The orientation of an image of this size. */
export function orientationOf(width: number, height: number): Orientation {
  const aspect = width / height;
  if (aspect > fitLimits.squareAspectMax) return 'landscape';
  if (aspect < 1 / fitLimits.squareAspectMax) return 'portrait';
  return 'square';
}

/** The whole image as its own safe area: what a frame without analysis must keep. */
export const wholeImage: Rect = { x: 0, y: 0, width: 1, height: 1 };

export type Master = { width: number; height: number; orientation: Orientation; analysis: FrameAnalysis | null };

/** How a master fits a screen of `target` orientation, and the crop window when it is cropped. */
export function fitFor(master: Master, target: Orientation): FitPlan {
  if (master.orientation === target) return { fit: 'exact', window: null };
  const window = cropWindow(master, target);
  return window === null ? { fit: 'fill', window: null } : { fit: 'crop', window };
}

/**
 * The largest window of the target's aspect ratio inside the master, centred on the focus and
 * shifted (as little as possible) to contain the safe area; null when no such window is allowed.
 */
export function cropWindow(master: Master, target: Orientation): PixelRect | null {
  const size = frameSizes[target];
  const aspect = size.width / size.height;
  const wide = master.width / master.height > aspect;
  const width = wide ? Math.round(master.height * aspect) : master.width;
  const height = wide ? master.height : Math.round(master.width / aspect);
  if (width * fitLimits.cropUpscaleMax < size.width || height * fitLimits.cropUpscaleMax < size.height) return null;
  const safe = master.analysis?.safeArea ?? wholeImage;
  const focus = master.analysis?.focus ?? { x: 0.5, y: 0.5 };
  const left = place(focus.x * master.width, width, safe.x * master.width, (safe.x + safe.width) * master.width, master.width);
  const top = place(focus.y * master.height, height, safe.y * master.height, (safe.y + safe.height) * master.height, master.height);
  if (left === null || top === null) return null;
  return { left, top, width, height };
}

/**
 * One axis of the window: centred on `centre`, moved to cover [safeStart, safeEnd], kept inside
 * [0, total]. Null when the safe span is longer than the window.
 */
function place(centre: number, length: number, safeStart: number, safeEnd: number, total: number): number | null {
  // Rounding in the analysis may overshoot the window by a pixel; that pixel is not content.
  if (safeEnd - safeStart > length + 1) return null;
  let start = centre - length / 2;
  if (start > safeStart) start = safeStart;
  if (start + length < safeEnd) start = safeEnd - length;
  return Math.round(Math.min(Math.max(0, start), total - length));
}

/** Whether a pixel window contains the safe area (a pixel of rounding allowed). */
export function keepsSafeArea(master: Pick<Master, 'width' | 'height' | 'analysis'>, window: PixelRect): boolean {
  const safe = master.analysis?.safeArea ?? wholeImage;
  return (
    window.left <= safe.x * master.width + 1 &&
    window.top <= safe.y * master.height + 1 &&
    window.left + window.width >= (safe.x + safe.width) * master.width - 1 &&
    window.top + window.height >= (safe.y + safe.height) * master.height - 1
  );
}
