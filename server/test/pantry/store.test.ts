import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import t, { type Test } from 'tap';
import { createPool } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrator.js';
import { repositoryRoot } from '../../src/main.js';
import { FrameStore, type NewFrame } from '../../src/pantry/store.js';
import { testDatabaseUrl, testDirectory } from '../support/services.js';

async function storeFor(t: Test) {
  const log = pino({ level: 'silent' });
  const pool = createPool(await testDatabaseUrl(t), log);
  t.teardown(() => pool.end());
  await migrate(pool, path.join(repositoryRoot, 'migrations'), log);
  const dataDir = await testDirectory(t);
  return { store: new FrameStore(pool, dataDir), dataDir };
}

const frameOf = async (colour: { r: number; g: number; b: number }): Promise<NewFrame> => ({
  source: 'fresh', genre: 'house', mood: 'calm', style: 'nebula', orientation: 'square', energy: 0.5, width: 64, height: 64,
  contentType: 'image/webp', prompt: 'a prompt', analysis: null,
  data: await sharp({ create: { width: 64, height: 64, channels: 3, background: colour } }).webp().toBuffer(),
});

t.test('the same bytes stored many times at once are one file and one row, and no temporary file is left', async (t) => {
  const { store, dataDir } = await storeFor(t);
  const frame = await frameOf({ r: 200, g: 40, b: 90 });
  const stored = await Promise.all(Array.from({ length: 12 }, () => store.addNew(frame)));
  t.equal(new Set(stored.map((result) => result.frame.id)).size, 1, 'one id');
  t.equal(stored.filter((result) => result.created).length, 1, 'one of them created the row');
  const directory = path.join(dataDir, path.dirname(stored[0]!.frame.path));
  t.same(await readdir(directory), [path.basename(stored[0]!.frame.path)], 'only the frame itself is on disk');
  t.same(await readFile(path.join(dataDir, stored[0]!.frame.path)), frame.data, 'with the bytes given');
});

t.test('a write that fails leaves no temporary file behind and says why', async (t) => {
  const { store, dataDir } = await storeFor(t);
  const frame = await frameOf({ r: 10, g: 220, b: 30 });
  const first = await store.add(frame);
  const target = path.join(dataDir, first.path);
  // A directory where the file should go: the rename into place fails.
  await rm(target);
  await mkdir(path.join(target, 'blocker'), { recursive: true });
  await t.rejects(store.add(frame), { code: /EISDIR|ENOTEMPTY|EEXIST/ });
  t.same((await readdir(path.dirname(target))).sort(), [path.basename(target)], 'the temporary file was removed');
});
