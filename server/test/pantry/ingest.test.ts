/**
 * Adding an operator's images to the pantry, end to end: `POST /v1/admin/frames` on a real server
 * (real PostgreSQL, real socket, real sharp), and `npm run pantry:add` as a child process.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import sharp from 'sharp';
import t from 'tap';
import { limits } from '../../src/limits.js';
import { repositoryRoot } from '../../src/main.js';
import { TestClient } from '../support/client.js';
import { admin, createUser } from '../support/fresh.js';
import { baseEnvironment } from '../support/process.js';
import { startTestServer } from '../support/server.js';
import { testDirectory } from '../support/services.js';

type Format = 'png' | 'jpeg' | 'webp';

let server: Awaited<ReturnType<typeof startTestServer>>;
let database: pg.Client;
t.before(async () => {
  server = await startTestServer(t, 'memory');
  database = new pg.Client({ connectionString: server.databaseUrl });
  await database.connect();
  t.teardown(() => database.end());
});

/** A picture with a subject, unique per `seed`, drawn from SVG. */
async function picture(width: number, height: number, seed: string, format: Format = 'png'): Promise<Buffer> {
  const hue = [...seed].reduce((sum, character) => (sum * 31 + character.charCodeAt(0)) % 360, 7);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="hsl(${hue},40%,20%)"/>
    <circle cx="${width * 0.6}" cy="${height * 0.4}" r="${Math.min(width, height) / 5}" fill="hsl(${(hue + 150) % 360},80%,60%)"/>
    <rect x="${width * 0.1}" y="${height * 0.7}" width="${width * 0.3}" height="${height * 0.1}" fill="hsl(${(hue + 60) % 360},70%,70%)"/></svg>`;
  return sharp(Buffer.from(svg)).toFormat(format).toBuffer();
}

const uploadUrl = (query: Record<string, string> = {}) => new URL(`/v1/admin/frames?${new URLSearchParams(query)}`, server.url);
const authorization = () => ({ authorization: `Bearer ${server.adminToken}` });

function postRaw(data: Buffer, query: Record<string, string>, headers: Record<string, string> = {}, token: string | null = server.adminToken) {
  return fetch(uploadUrl(query), {
    method: 'POST',
    headers: { 'content-type': 'image/png', ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers },
    body: data,
  });
}

function postForm(form: FormData) {
  return fetch(uploadUrl(), { method: 'POST', headers: authorization(), body: form });
}

const fileOf = (data: Buffer, type = 'image/png') => new Blob([new Uint8Array(data)], { type });

async function frameCount(): Promise<number> {
  const { rows } = await database.query<{ count: string }>('SELECT count(*) AS count FROM frames');
  return Number(rows[0]!.count);
}

t.test('a raw upload is stored with the orientation of its picture, and the same bytes again are not stored twice', async (t) => {
  const cases: Array<[number, number, string]> = [[1600, 900, 'landscape'], [720, 1280, 'portrait'], [800, 800, 'square']];
  for (const [width, height, orientation] of cases) {
    const data = await picture(width, height, `raw-${orientation}`);
    const first = await postRaw(data, { genre: 'Hip-Hop', mood: 'Calm', style: 'Oil Paint', energy: '0.4' });
    t.equal(first.status, 201, orientation);
    const created = (await first.json()) as { frames: Array<Record<string, unknown>>; errors: unknown[] };
    t.match(created, { frames: [{ created: true, width, height, orientation, genre: 'hiphop', mood: 'calm', style: 'oilpaint', energy: 0.4 }], errors: [] });
    t.match(created.frames[0], { id: /^[0-9a-f]{32}$/, analysis: { palette: Array, safeArea: { width: Number }, focus: { x: Number } } });
    const again = await postRaw(data, { genre: 'jazz', mood: 'dark' });
    t.equal(again.status, 200, `${orientation} again`);
    t.match(await again.json(), { frames: [{ id: created.frames[0]!['id'], created: false, genre: 'hiphop' }] }, 'the first labels stay');
  }
});

t.test('an uploaded frame is served as WebP from /v1/frames/{id}', async (t) => {
  const upload = await postRaw(await picture(1280, 720, 'served', 'jpeg'), { genre: 'techno', mood: 'dark' }, { 'content-type': 'image/jpeg' });
  const { frames } = (await upload.json()) as { frames: Array<{ id: string; url: string }> };
  const response = await fetch(new URL(`/v1/frames/${frames[0]!.id}`, server.url));
  t.equal(response.status, 200);
  t.equal(response.headers.get('content-type'), 'image/webp');
  const metadata = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
  t.match(metadata, { format: 'webp', width: 1280, height: 720 });
  t.equal(frames[0]!.url, `/v1/frames/${frames[0]!.id}`);
});

t.test('labels can come in the x-frame-metadata header, and octet-stream bodies are read as images', async (t) => {
  const response = await postRaw(await picture(900, 900, 'header-labels'), {}, {
    'content-type': 'application/octet-stream',
    'x-frame-metadata': JSON.stringify({ genre: 'Drum & Bass', mood: 'energetic', energy: 0.9 }),
  });
  t.equal(response.status, 201);
  t.match(await response.json(), { frames: [{ genre: 'drumbass', mood: 'energetic', style: 'custom', energy: 0.9, orientation: 'square' }] });
});

t.test('an energy is kept to four decimals, so one too small for the stored real is 0', async (t) => {
  for (const [energy, stored, seed] of [['1e-50', 0, 'tiny-energy'], ['0.123456', 0.1235, 'long-energy']] as const) {
    const response = await postRaw(await picture(640, 360, seed), { genre: 'ambient', mood: 'calm', energy });
    t.equal(response.status, 201, energy);
    t.match(await response.json(), { frames: [{ energy: stored }] }, energy);
  }
});

t.test('a multipart upload stores every file with the labels of its metadata field', async (t) => {
  const form = new FormData();
  form.append('metadata', JSON.stringify({ genre: 'ambient', mood: 'melancholic', style: 'watercolour' }));
  form.append('first', fileOf(await picture(1200, 800, 'form-1')), 'first.png');
  form.append('second', fileOf(await picture(800, 1200, 'form-2', 'jpeg'), 'image/jpeg'), 'second.jpg');
  const response = await postForm(form);
  t.equal(response.status, 201);
  const body = (await response.json()) as { frames: Array<Record<string, unknown>>; errors: unknown[] };
  t.match(body, { frames: [{ orientation: 'landscape', genre: 'ambient', mood: 'melancholic', style: 'watercolour', created: true }, { orientation: 'portrait', created: true }], errors: [] });
});

t.test('a multipart upload with text fields stores the good files and lists the bad ones', async (t) => {
  const form = new FormData();
  form.append('genre', 'rock');
  form.append('mood', 'uplifting');
  form.append('energy', '0.7');
  form.append('files', fileOf(await picture(1000, 700, 'mixed-good')), 'good.png');
  form.append('files', fileOf(randomBytes(2000)), 'noise.png');
  const response = await postForm(form);
  t.equal(response.status, 201);
  t.match(await response.json(), {
    frames: [{ genre: 'rock', mood: 'uplifting', energy: 0.7, created: true }],
    errors: [{ file: 'noise.png', code: 'not_an_image', message: String }],
  });
});

t.test('a new frame joins the catalog at once: the next player in its bucket is shown it', async (t) => {
  const upload = await postRaw(await picture(720, 1280, 'catalog'), { genre: 'polka', mood: 'calm' });
  const { frames } = (await upload.json()) as { frames: Array<{ id: string }> };
  // A user without credits, so titration cannot choose fresh instead.
  await admin(server, 'PUT', '/v1/admin/tiers/library-only', { baseQuota: 0 });
  await createUser(server, 'polka-fan', 'library-only');
  const client = await TestClient.connect(server.url, await server.tokens.issue('polka-fan', 60));
  t.teardown(() => client.close());
  await client.hello({ orientation: 'portrait', context: { genre: 'Polka', mood: 'calm', energy: 0.3 } });
  const frame = await client.next('catalog-1');
  t.match(frame, { source: 'library', frameId: frames[0]!.id });
});

t.test('bad uploads get a coded error and store nothing', async (t) => {
  const before = await frameCount();
  const good = await picture(1000, 600, 'never-stored');
  const cases: Array<[string, () => Promise<Response>, number, string]> = [
    ['random bytes', () => postRaw(randomBytes(4096), { genre: 'jazz', mood: 'calm' }), 400, 'not_an_image'],
    ['a tiny image', async () => postRaw(await picture(100, 80, 'tiny'), { genre: 'jazz', mood: 'calm' }), 400, 'too_small'],
    ['no genre', () => postRaw(good, { mood: 'calm' }), 400, 'invalid_body'],
    ['a genre of punctuation', () => postRaw(good, { genre: '!!!', mood: 'calm' }), 400, 'invalid_body'],
    ['energy out of range', () => postRaw(good, { genre: 'jazz', mood: 'calm', energy: '1.5' }), 400, 'invalid_body'],
    ['broken metadata JSON', () => postRaw(good, {}, { 'x-frame-metadata': '{genre' }), 400, 'invalid_json'],
    ['an empty body', () => postRaw(Buffer.alloc(0), { genre: 'jazz', mood: 'calm' }), 400, 'invalid_body'],
    ['a JSON body', () => postRaw(good, { genre: 'jazz', mood: 'calm' }, { 'content-type': 'application/json' }), 400, 'invalid_body'],
    ['no token', () => postRaw(good, { genre: 'jazz', mood: 'calm' }, {}, null), 401, 'unauthorized'],
    ['a wrong token', () => postRaw(good, { genre: 'jazz', mood: 'calm' }, {}, 'not-the-admin-token'), 401, 'unauthorized'],
    ['no token and a large body', () => postRaw(randomBytes(5 * 1024 * 1024), { genre: 'jazz', mood: 'calm' }, {}, null), 401, 'unauthorized'],
    ['a body over the upload limit', () => postRaw(Buffer.alloc(limits.frameUploadBytesMax + 1), { genre: 'jazz', mood: 'calm' }), 413, 'too_large'],
  ];
  for (const [name, send, status, code] of cases) {
    const response = await send();
    t.equal(response.status, status, name);
    const body = (await response.json()) as { error: { code: string; message: string } };
    t.equal(body.error.code, code, name);
    t.ok(body.error.message.length > 10, `${name}: ${body.error.message}`);
  }
  t.equal(await frameCount(), before);
});

t.test('only frame uploads may send a large body: other admin routes keep the JSON limit', async (t) => {
  const padded = JSON.stringify({ baseQuota: 1, pad: 'x'.repeat(limits.adminBodyBytesMax) });
  const tier = await fetch(new URL('/v1/admin/tiers/padded', server.url), { method: 'PUT', headers: { ...authorization(), 'content-type': 'application/json' }, body: padded });
  t.equal(tier.status, 413);
  t.match(await tier.json(), { error: { code: 'too_large', message: new RegExp(String(limits.adminBodyBytesMax)) } });
  const stranger = await fetch(new URL('/v1/admin/tiers/padded', server.url), { method: 'PUT', headers: { 'content-type': 'application/json' }, body: padded });
  t.equal(stranger.status, 401, 'without the token the body is not read at all');
});

t.test('a multipart upload whose every file fails answers with the failure and each file', async (t) => {
  const before = await frameCount();
  const form = new FormData();
  form.append('metadata', JSON.stringify({ genre: 'jazz', mood: 'calm' }));
  form.append('a', fileOf(randomBytes(1000)), 'a.png');
  form.append('b', fileOf(await picture(90, 90, 'small-b')), 'b.png');
  const response = await postForm(form);
  t.equal(response.status, 400);
  t.match(await response.json(), { error: { code: 'not_an_image', message: /a\.png.*b\.png/ }, errors: [{ file: 'a.png', code: 'not_an_image' }, { file: 'b.png', code: 'too_small' }] });

  const none = new FormData();
  none.append('genre', 'jazz');
  none.append('mood', 'calm');
  t.match(await (await postForm(none)).json(), { error: { code: 'invalid_body', message: /no file/ } });

  const crowded = new FormData();
  crowded.append('metadata', JSON.stringify({ genre: 'jazz', mood: 'calm' }));
  const small = fileOf(await picture(400, 400, 'crowd'));
  for (let index = 0; index <= limits.frameUploadFilesMax; index += 1) crowded.append('file', small, `crowd-${index}.png`);
  const refused = await postForm(crowded);
  t.equal(refused.status, 400);
  t.match(await refused.json(), { error: { code: 'invalid_body', message: new RegExp(`at most ${limits.frameUploadFilesMax} files`) } });
  t.equal(await frameCount(), before);
});

type Run = { code: number | null; stdout: string; stderr: string };

function pantryAdd(args: string[], environment: Record<string, string> = {}): Promise<Run> {
  const bin = path.join(repositoryRoot, 'server/src/bin/pantry-add.ts');
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', bin, ...args], { cwd: repositoryRoot, env: { ...baseEnvironment(), ...environment } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

t.test('pantry:add adds a folder of images, reports the file it refused, and exits 1', async (t) => {
  const folder = await testDirectory(t);
  await writeFile(path.join(folder, 'dawn.jpg'), await picture(1600, 900, 'cli-dawn', 'jpeg'));
  await writeFile(path.join(folder, 'tower.png'), await picture(900, 1600, 'cli-tower'));
  await writeFile(path.join(folder, 'tile.webp'), await picture(1000, 1000, 'cli-tile', 'webp'));
  await writeFile(path.join(folder, 'broken.jpg'), randomBytes(3000));
  await writeFile(path.join(folder, 'notes.txt'), 'not an image, and not looked at');
  const args = [folder, '--genre', 'Synth Pop', '--mood', 'dreamy', '--energy', '0.6', '--url', server.url, '--token', server.adminToken];

  const first = await pantryAdd(args);
  t.equal(first.code, 1, first.stderr);
  t.match(first.stdout, /^added [0-9a-f]{32} 1600×900 landscape$/m);
  t.match(first.stdout, /^added [0-9a-f]{32} 900×1600 portrait$/m);
  t.match(first.stdout, /^added [0-9a-f]{32} 1000×1000 square$/m);
  t.match(first.stdout, /^refused broken\.jpg: .+$/m);
  t.match(first.stdout, /^3 added, 0 already in the pantry, 1 refused \(4 files in .+\)$/m);
  t.notMatch(first.stdout, /notes\.txt/);
  const { rows } = await database.query<{ count: string }>(`SELECT count(*) AS count FROM frames WHERE genre = 'synthpop' AND mood = 'dreamy' AND source = 'library'`);
  t.equal(Number(rows[0]!.count), 3);

  const second = await pantryAdd(args);
  t.match(second.stdout, /^0 added, 3 already in the pantry, 1 refused/m);
  t.equal((second.stdout.match(/^already in the pantry [0-9a-f]{32}$/gm) ?? []).length, 3);
});

t.test('pantry:add says how to start the server when none answers, and stops on a refused token', async (t) => {
  const folder = await testDirectory(t);
  await writeFile(path.join(folder, 'one.png'), await picture(800, 600, 'cli-nobody'));
  const nobody = await pantryAdd([folder, '--genre', 'jazz', '--mood', 'calm', '--url', 'http://127.0.0.1:9', '--token', server.adminToken]);
  t.equal(nobody.code, 2);
  t.match(nobody.stderr, /no Titrate server answers at http:\/\/127\.0\.0\.1:9.*npm start/);

  const wrongToken = await pantryAdd([folder, '--genre', 'jazz', '--mood', 'calm', '--url', server.url, '--token', 'adm_not-the-right-one']);
  t.equal(wrongToken.code, 2);
  t.match(wrongToken.stderr, /refused the admin token/);

  const usage = await pantryAdd([folder, '--mood', 'calm', '--url', server.url]);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /--genre is required[\s\S]*usage: npm run pantry:add/);
});

t.test('pantry:add finds the admin token in DATA_DIR/secrets.json', async (t) => {
  const folder = await testDirectory(t);
  await writeFile(path.join(folder, 'only.png'), await picture(800, 600, 'cli-secrets'));
  const dataDir = await testDirectory(t);
  await writeFile(path.join(dataDir, 'secrets.json'), JSON.stringify({ adminToken: server.adminToken }));
  const run = await pantryAdd([folder, '--genre', 'jazz', '--mood', 'calm', '--url', server.url], { DATA_DIR: dataDir });
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^1 added, 0 already in the pantry, 0 refused/m);

  const missing = await pantryAdd([folder, '--genre', 'jazz', '--mood', 'calm', '--url', server.url], { DATA_DIR: folder });
  t.equal(missing.code, 2);
  t.match(missing.stderr, /no admin token: .*secrets\.json does not exist/);
});
