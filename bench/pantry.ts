/**
 * `npm run bench:pantry [-- --seen N --frames N --choices N --images N --json FILE]`:
 *
 *   1. choosing an unseen library frame for a user who has seen thousands: the catalog's choice
 *      alone, and with the user's seen set read from the in-process engine first (what a `next`
 *      does), as p50 / p99 / max in microseconds (HDR histograms);
 *   2. orientation adaptation throughput (images/s) for portrait screens from landscape masters:
 *      rendering every crop and fill (no cache), reading them back from the disk cache (a fresh
 *      process), and from the memory cache (the steady state).
 *
 * Pure CPU and the local disk: no database or network.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { pino } from 'pino';
import sharp from 'sharp';
import { orientations } from '@titrate/shared';
import { artStyles, frameSizes, seededRandom } from '../server/src/pantry/art.js';
import { PantryCatalog, type CatalogFrame } from '../server/src/pantry/catalog.js';
import { fitFor } from '../server/src/pantry/fit.js';
import { analyseImage } from '../server/src/pantry/image.js';
import { renderArt } from '../server/src/pantry/demo.js';
import { seenInOrder } from '../server/src/pantry/seen.js';
import type { FrameRow } from '../server/src/pantry/store.js';
import { FrameVariants, variantIdOf } from '../server/src/pantry/variants.js';
import { MemoryEngine } from '../server/src/state/memory.js';
import { seenScope } from '../server/src/state/engine.js';

const { values } = parseArgs({
  options: {
    seen: { type: 'string', default: '4000' },
    frames: { type: 'string', default: '6000' },
    choices: { type: 'string', default: '5000' },
    images: { type: 'string', default: '24' },
    json: { type: 'string' },
  },
});
const seenCount = Number(values.seen);
const framesCount = Number(values.frames);
const choices = Number(values.choices);
const images = Number(values.images);
const log = pino({ level: 'warn' });

type Percentiles = { p50: number; p99: number; max: number };

function percentilesOf(histogram: hdr.Histogram): Percentiles {
  // HDR histograms keep 3 significant digits at any scale, so a p99 of microseconds is exact to 0.1%.
  return { p50: histogram.getValueAtPercentile(50), p99: histogram.getValueAtPercentile(99), max: histogram.maxValue };
}

/** One genre × mood with `count` frames over the three orientations and five styles. */
function group(count: number): CatalogFrame[] {
  const random = seededRandom(11);
  return Array.from({ length: count }, (_, index) => {
    const orientation = orientations[index % orientations.length]!;
    const large = random() < 0.3;
    const size = frameSizes[orientation];
    return {
      id: `frame${String(index).padStart(8, '0')}`, genre: 'techno', mood: 'dark', style: artStyles[index % artStyles.length]!, orientation,
      width: large ? size.width * 3 : size.width, height: large ? size.height * 3 : size.height,
      analysis: { palette: [], safeArea: { x: 0.4, y: 0.35, width: 0.2, height: 0.3 }, focus: { x: 0.5, y: 0.5 } },
    };
  });
}

async function benchChoice(framesInGroup: number, seenInGroup: number): Promise<{ catalogUs: Percentiles; withEngineUs: Percentiles }> {
  const catalog = new PantryCatalog();
  const frames = group(framesInGroup);
  for (const frame of frames) catalog.add(frame);
  const engine = new MemoryEngine();
  const scope = seenScope('bench-user', { genre: 'techno', mood: 'dark' });
  const seenIds = frames.slice(0, seenInGroup).map((frame) => frame.id);
  for (const id of seenIds) await engine.markSeen(scope, id, 10_000, 3_600_000);
  const seen = seenInOrder(seenIds);
  // Frozen, as a session's context is: the catalog keeps its resolution.
  const context = Object.freeze({ genre: 'techno', mood: 'dark', energy: 0.7 });
  const random = seededRandom(3);
  const catalogOnly = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 });
  const withEngine = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 });
  for (let warm = 0; warm < 200; warm += 1) catalog.choose(context, 'portrait', seen, random);
  for (let index = 0; index < choices; index += 1) {
    const screen = orientations[index % orientations.length]!;
    let started = performance.now();
    const choice = catalog.choose(context, screen, seen, random);
    catalogOnly.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
    if (choice === null || choice.repeated) throw new Error('the benchmark user should always have unseen frames');
    started = performance.now();
    catalog.choose(context, screen, await engine.seenFrames(scope), random);
    withEngine.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
  }
  await engine.close();
  return { catalogUs: percentilesOf(catalogOnly), withEngineUs: percentilesOf(withEngine) };
}

/** Landscape masters: half large photos (portrait screens crop them), half frame-sized art (filled). */
async function masters(directory: string): Promise<FrameRow[]> {
  const rows: FrameRow[] = [];
  for (let index = 0; index < images; index += 1) {
    const large = index % 2 === 0;
    const data = large
      ? await sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="3200" height="1800"><rect width="100%" height="100%" fill="#0b1a2a"/>
          <circle cx="${900 + index * 60}" cy="900" r="260" fill="#f0a020"/></svg>`)).webp({ quality: 85 }).toBuffer()
      : (await renderArt({ genre: 'jazz', mood: 'calm', style: artStyles[index % artStyles.length]!, energy: 0.5, orientation: 'landscape', seed: `bench-${index}` })).data;
    const metadata = await sharp(data).metadata();
    const id = `master${String(index).padStart(8, '0')}`;
    const file = `${id}.webp`;
    await writeFile(path.join(directory, file), data);
    rows.push({
      id, source: 'library', genre: 'jazz', mood: 'calm', style: 'bench', orientation: 'landscape', energy: 0.5, width: metadata.width!, height: metadata.height!,
      contentType: 'image/webp', bytes: data.byteLength, path: file, analysis: await analyseImage(data),
    });
  }
  return rows;
}

type Adaptation = { renderedPerSecond: number; diskPerSecond: number; memoryPerSecond: number; crops: number; fills: number };

async function benchAdaptation(): Promise<Adaptation> {
  const directory = await mkdtemp(path.join(tmpdir(), 'titrate-bench-pantry-'));
  try {
    const rows = await masters(directory);
    const byId = new Map(rows.map((row) => [row.id, row]));
    const source = {
      get: async (id: string) => byId.get(id) ?? null,
      readData: async (row: FrameRow) => (await import('node:fs/promises')).readFile(path.join(directory, row.path)),
    };
    const ids = rows.map((row) => {
      const plan = fitFor(row, 'portrait');
      if (plan.fit === 'exact') throw new Error('landscape masters are never exact on a portrait screen');
      return variantIdOf(row.id, 'portrait', plan.fit);
    });
    const crops = ids.filter((id) => id.endsWith('-crop')).length;
    const rate = async (variants: FrameVariants) => {
      const started = performance.now();
      for (const id of ids) if ((await variants.read(id)) === null) throw new Error(`variant ${id} did not render`);
      return ids.length / ((performance.now() - started) / 1000);
    };
    const cold = new FrameVariants({ frames: source, dataDir: directory, metrics: null, log });
    const renderedPerSecond = await rate(cold);
    const memoryPerSecond = await rate(cold);
    const disk = new FrameVariants({ frames: source, dataDir: directory, metrics: null, log });
    const diskPerSecond = await rate(disk);
    return { renderedPerSecond, diskPerSecond, memoryPerSecond, crops, fills: ids.length - crops };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const choice = await benchChoice(framesCount, seenCount);
  const typical = await benchChoice(300, 200);
  const adaptation = await benchAdaptation();
  const format = (value: number) => value.toFixed(value < 10 ? 2 : 0);
  process.stdout.write(
    [
      `Choosing an unseen library frame: one genre × mood of ${framesCount} frames, a user who has seen ${seenCount} (${choices} choices over the 3 screens)`,
      '| path | p50 µs | p99 µs | max µs |',
      '|---|---|---|---|',
      `| catalog choice | ${choice.catalogUs.p50} | ${choice.catalogUs.p99} | ${choice.catalogUs.max} |`,
      `| seen set from the memory engine + choice | ${choice.withEngineUs.p50} | ${choice.withEngineUs.p99} | ${choice.withEngineUs.max} |`,
      `| the same, a group of 300 frames with 200 seen | ${typical.withEngineUs.p50} | ${typical.withEngineUs.p99} | ${typical.withEngineUs.max} |`,
      '',
      `Adapting ${images} landscape masters for a portrait screen (${adaptation.crops} crops of 3200×1800 photos, ${adaptation.fills} fills of 1280×720 frames), images/s:`,
      '| cache | images/s |',
      '|---|---|',
      `| none (render + write) | ${format(adaptation.renderedPerSecond)} |`,
      `| disk | ${format(adaptation.diskPerSecond)} |`,
      `| memory | ${format(adaptation.memoryPerSecond)} |`,
      '',
    ].join('\n'),
  );
  if (values.json !== undefined) {
    await writeFile(values.json, JSON.stringify({ seen: seenCount, frames: framesCount, choice, typical, adaptation }, null, 2));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:pantry failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
