/**
 * Latency histograms: HDR histograms of microseconds (1 µs to 10 min, 3 significant digits), so
 * percentiles stay exact to 0.1% without keeping samples, and histograms from several generator
 * processes merge losslessly.
 */
import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;
export type Percentiles = { count: number; p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number };

const highestMicros = 600_000_000;

export function newHistogram(): Histogram {
  return hdr.build({ bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: highestMicros, numberOfSignificantValueDigits: 3, autoResize: false });
}

export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.min(highestMicros, Math.max(1, Math.round(ms * 1000))));
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded: string): Histogram {
  const decoded = hdr.decodeFromCompressedBase64(encoded, 32, false);
  const histogram = newHistogram();
  histogram.add(decoded);
  return histogram;
}

const ms = (micros: number) => Math.round(micros) / 1000;

export function percentilesOf(histogram: Histogram): Percentiles {
  if (histogram.totalCount === 0) return { count: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 };
  return {
    count: histogram.totalCount,
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p90Ms: ms(histogram.getValueAtPercentile(90)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    maxMs: ms(histogram.maxValue),
  };
}
