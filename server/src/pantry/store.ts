/**
 * Frame storage: image files content-addressed under `DATA_DIR/frames/` (the id is the first 128
 * bits of the SHA-256 of the bytes, so storing the same image twice stores it once), and their
 * rows in the `frames` table. This module owns every query on that table.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import type { Orientation } from '@titrate/shared';
import type { FrameAnalysis } from './fit.js';

export type FrameRow = {
  id: string;
  source: 'library' | 'fresh';
  genre: string;
  mood: string;
  style: string;
  orientation: Orientation;
  energy: number | null;
  width: number;
  height: number;
  contentType: string;
  bytes: number;
  path: string;
  /** Palette, safe area and focus (null for frames stored before analysis). */
  analysis: FrameAnalysis | null;
};

export type NewFrame = Omit<FrameRow, 'id' | 'bytes' | 'path'> & { data: Buffer; prompt: string | null };

const extensionByType: Record<string, string> = { 'image/webp': 'webp', 'image/jpeg': 'jpg', 'image/png': 'png' };

const selectColumns = `id, source, genre, mood, style, orientation, energy, width, height,
  content_type AS "contentType", bytes, path, analysis`;

export class FrameStore {
  readonly #pool: pg.Pool;
  readonly #dataDir: string;

  constructor(pool: pg.Pool, dataDir: string) {
    this.#pool = pool;
    this.#dataDir = dataDir;
  }

  /**
   * Writes the file (atomically: a reader sees the whole file or none) and its row (once); returns
   * the stored row and whether it is new. Storing known bytes again rewrites the same bytes and
   * changes nothing in the row (the first labels win) but a missing analysis.
   */
  async add(frame: NewFrame): Promise<FrameRow> {
    return (await this.addNew(frame)).frame;
  }

  async addNew(frame: NewFrame): Promise<{ frame: FrameRow; created: boolean }> {
    const sha256 = createHash('sha256').update(frame.data).digest('hex');
    const id = sha256.slice(0, 32);
    const extension = extensionByType[frame.contentType];
    if (extension === undefined) throw new Error(`unsupported content type ${frame.contentType}`);
    const relative = path.join('frames', id.slice(0, 2), `${id}.${extension}`);
    const absolute = path.join(this.#dataDir, relative);
    await mkdir(path.dirname(absolute), { recursive: true });
    // Two generations can make the same bytes at once (a seeded provider, one prompt), in one
    // process or in several sharing DATA_DIR: each writes a file of its own and renames it into
    // place, so either rename leaves the whole file there.
    const temporary = `${absolute}.${randomBytes(8).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, frame.data);
      await rename(temporary, absolute);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      throw error;
    }
    const { rows } = await this.#pool.query<FrameRow>(
      `INSERT INTO frames (id, source, genre, mood, style, orientation, energy, width, height, content_type, bytes, sha256, path, prompt, analysis)
       VALUES ($1, $2, $3, $4, $5, $6, $7::real, $8::int, $9::int, $10, $11::int, $12, $13, $14, $15::jsonb)
       ON CONFLICT (id) DO UPDATE SET analysis = coalesce(frames.analysis, EXCLUDED.analysis)
       RETURNING ${selectColumns}, (xmax = 0) AS created`,
      [id, frame.source, frame.genre, frame.mood, frame.style, frame.orientation, frame.energy, frame.width, frame.height,
        frame.contentType, frame.data.byteLength, sha256, relative, frame.prompt, frame.analysis === null ? null : JSON.stringify(frame.analysis)],
    );
    const { created, ...row } = rows[0]! as FrameRow & { created: boolean };
    return { frame: row, created };
  }

  async get(id: string): Promise<FrameRow | null> {
    const { rows } = await this.#pool.query<FrameRow>(`SELECT ${selectColumns} FROM frames WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  /** Moves a frame into the library (a fresh image nobody was charged for); null if it does not exist. */
  async markLibrary(id: string): Promise<FrameRow | null> {
    const { rows } = await this.#pool.query<FrameRow>(`UPDATE frames SET source = 'library' WHERE id = $1 RETURNING ${selectColumns}`, [id]);
    return rows[0] ?? null;
  }

  async countLibrary(): Promise<number> {
    const { rows } = await this.#pool.query<{ count: string }>(`SELECT count(*) AS count FROM frames WHERE source = 'library'`);
    return Number(rows[0]?.count ?? 0);
  }

  /** Library frames for the in-memory catalog, in a stable order, at most `max`. */
  async listLibrary(max: number): Promise<FrameRow[]> {
    const { rows } = await this.#pool.query<FrameRow>(
      `SELECT ${selectColumns} FROM frames WHERE source = 'library' ORDER BY created_at, id LIMIT $1::int`,
      [max],
    );
    return rows;
  }

  async readData(frame: FrameRow): Promise<Buffer> {
    return readFile(path.join(this.#dataDir, frame.path));
  }
}
