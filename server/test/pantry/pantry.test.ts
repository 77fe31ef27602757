/**
 * The pantry over a real socket: frames fitted to the screen, no repeats for a user across devices
 * until a bucket is exhausted, coverage misses forcing fresh and filling themselves.
 */
import pg from 'pg';
import sharp from 'sharp';
import t from 'tap';
import { FrameMessage } from '@titrate/shared';
import { admin, createUser, nextFrame, until } from '../support/fresh.js';
import { TestClient, type Received } from '../support/client.js';
import { startTestServer } from '../support/server.js';

const realRules = { PANTRY_MIN_UNSEEN: '60', PANTRY_MIN_STYLES: '5', PANTRY_MIN_UNSEEN_SHARE: '0.3' };

/** A dark picture with one bright red disc (the subject) centred at (cx, cy) in fractions. */
async function photo(width: number, height: number, cx: number, cy: number, radiusShare = 0.12): Promise<Buffer> {
  const radius = Math.round(Math.min(width, height) * radiusShare);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="#101820"/>
    <circle cx="${Math.round(cx * width)}" cy="${Math.round(cy * height)}" r="${radius}" fill="#ff2020"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer();
}

async function upload(server: { url: string; adminToken: string }, data: Buffer, labels: string): Promise<Received> {
  const response = await fetch(`${server.url}/v1/admin/frames?${labels}`, {
    method: 'POST', body: data, headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'image/jpeg' },
  });
  const body = (await response.json()) as Received;
  if (response.status !== 201) throw new Error(`upload answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

const said = (message: Received, pattern: RegExp) => (message['reasons'] as string[]).some((reason) => pattern.test(reason));

/** Red pixels in an image (the subject's area). */
async function redPixels(data: Buffer): Promise<number> {
  const { data: pixels, info } = await sharp(data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let red = 0;
  for (let index = 0; index < pixels.length; index += info.channels) if (pixels[index]! > 180 && pixels[index + 1]! < 90 && pixels[index + 2]! < 90) red += 1;
  return red;
}

async function connect(server: Awaited<ReturnType<typeof startTestServer>>, userId: string, hello: Record<string, unknown>): Promise<TestClient> {
  const client = await TestClient.connect(server.url, await server.tokens.issue(userId, 600));
  t.teardown(() => client.close());
  await client.hello(hello);
  return client;
}

t.test('a portrait screen with only landscape masters gets portrait-sized crops and fills that keep the subject', async (t) => {
  const server = await startTestServer(t, 'memory', {}, { demoPlan: { genres: ['techno'], moods: ['calm'], orientations: ['landscape'], perBucket: 2 } });
  await admin(server, 'PUT', '/v1/admin/tiers/library-only', { baseQuota: 0 });
  await createUser(server, 'viewer', 'library-only');
  // Two large masters with a small subject (croppable) and one small master (only a fill fits a portrait screen).
  await upload(server, await photo(3200, 1800, 0.3, 0.5), 'genre=jazz&mood=dark&style=photo');
  await upload(server, await photo(3200, 1800, 0.75, 0.4), 'genre=jazz&mood=dark&style=photo');
  await upload(server, await photo(1280, 720, 0.5, 0.5), 'genre=jazz&mood=dark&style=photo');
  const client = await connect(server, 'viewer', { orientation: 'portrait', context: { genre: 'jazz', mood: 'dark', energy: 0.4 } });
  const fits: string[] = [];
  for (let index = 0; index < 3; index += 1) {
    const frame = FrameMessage.parse(await client.next(`portrait-${index}`));
    t.equal(frame.orientation, 'portrait');
    t.same([frame.width, frame.height], [720, 1280]);
    fits.push(frame.fallback);
    const response = await fetch(`${server.url}${frame.url}`);
    t.equal(response.status, 200);
    t.equal(response.headers.get('content-type'), 'image/webp');
    const image = Buffer.from(await response.arrayBuffer());
    const metadata = await sharp(image).metadata();
    t.same([metadata.width, metadata.height], [720, 1280], `the ${frame.fallback} image is portrait-sized`);
    t.ok((await redPixels(image)) > 2000, `the ${frame.fallback} keeps the subject in frame`);
    const again = await fetch(`${server.url}${frame.url}`);
    t.same(Buffer.from(await again.arrayBuffer()), image, 'a variant is rendered once and served the same');
  }
  t.same(fits.sort(), ['crop', 'crop', 'fill'], 'crops from the large masters first, then the fill');
});

t.test('a user sees no frame twice, on two devices, until the bucket is exhausted', async (t) => {
  const server = await startTestServer(t, 'memory', {}, { demoPlan: { genres: ['ambient'], moods: ['calm'], orientations: ['landscape'], perBucket: 6 } });
  await admin(server, 'PUT', '/v1/admin/tiers/library-only', { baseQuota: 0 });
  await createUser(server, 'twodevices', 'library-only');
  const hello = { orientation: 'landscape', context: { genre: 'ambient', mood: 'calm', energy: 0.3 } };
  const phone = await connect(server, 'twodevices', { ...hello, device: 'phone' });
  const tv = await connect(server, 'twodevices', { ...hello, device: 'tv' });
  const shown: string[] = [];
  for (let index = 0; index < 6; index += 1) {
    const client = index % 2 === 0 ? phone : tv;
    const frame = await client.next(`no-repeat-${index}`);
    t.equal(frame.t, 'frame');
    shown.push(frame['frameId'] as string);
  }
  t.equal(new Set(shown).size, 6, 'six different frames across the two sockets');
  const seventh = await phone.next('no-repeat-6');
  t.equal(seventh['frameId'], shown[0], 'the bucket is exhausted: the frame seen longest ago comes back');
  t.ok(said(seventh, /repeating the one seen longest ago/), 'and says so');
});

t.test('a thin bucket forces fresh within credits, counts a miss and fills itself', async (t) => {
  const server = await startTestServer(t, 'memory', { ...realRules, PANTRY_FILL: 'on' }, {
    demoPlan: { genres: ['house'], moods: ['uplifting'], orientations: ['landscape'], perBucket: 4 },
  });
  await admin(server, 'PUT', '/v1/admin/tiers/rich', { baseQuota: 1000 });
  await admin(server, 'PUT', '/v1/admin/tiers/library-only', { baseQuota: 0 });
  await createUser(server, 'rich', 'rich');
  await createUser(server, 'broke', 'library-only');
  const hello = { orientation: 'landscape', context: { genre: 'house', mood: 'uplifting', energy: 0.6 } };

  const rich = await connect(server, 'rich', hello);
  const { frame } = await nextFrame(rich, 'thin-1', 30_000);
  t.equal(frame['source'], 'fresh');
  t.equal(frame['fallback'], 'forced_fresh');
  t.ok((frame['charged'] as number) > 0, 'a forced fresh frame is charged like any fresh frame');
  t.ok(said(frame, /thin library for this screen: 4 unseen frames \(needs 60\)/), 'the reason names the shortfall');

  const broke = await connect(server, 'broke', hello);
  const library = await broke.next('thin-2');
  t.equal(library['source'], 'library', 'without credits the best library frame is shown');
  t.equal(library['charged'], 0);
  t.ok(said(library, /thin library/) && said(library, /no credits left/), 'the reasons name the thin library and the missing credits');

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.match(metrics, /titrate_pantry_coverage_miss_total\{genre="house",mood="uplifting",orientation="landscape",shortfall="unseen"\} [1-9]/);

  const database = new pg.Client({ connectionString: server.databaseUrl });
  await database.connect();
  t.teardown(() => database.end());
  const fills = await until(async () => {
    const { rows } = await database.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM generations WHERE purpose = 'pantry' AND genre = 'house' AND mood = 'uplifting' AND orientation = 'landscape'`,
    );
    return rows[0]!.count > 0 ? rows[0]!.count : null;
  });
  t.ok(fills >= 2, `${fills} fill generations queued by the misses`);

  const run = await admin(server, 'POST', '/v1/admin/pantry/fill');
  t.equal(run.status, 200);
  t.ok(run.body.queued > 0, `the scheduled plan queued ${run.body.queued} more`);
  const grown = await until(async () => {
    const report = await admin(server, 'GET', '/v1/admin/pantry/coverage');
    const bucket = report.body.buckets.find((entry: Received) => entry['genre'] === 'house' && entry['mood'] === 'uplifting' && entry['orientation'] === 'landscape');
    return bucket !== undefined && bucket.total >= 10 ? report.body : null;
  }, 60_000, 250);
  const bucket = grown.buckets.find((entry: Received) => entry['genre'] === 'house' && entry['orientation'] === 'landscape');
  t.ok(bucket.missesInWindow >= 2, 'the report counts the misses');
  t.ok(bucket.styles >= 2, 'fills add the styles the bucket lacks');
  t.ok(bucket.unseenDepth.users >= 1, 'the report has the unseen depth of active users');
  const portrait = grown.buckets.find((entry: Received) => entry['genre'] === 'house' && entry['orientation'] === 'portrait');
  t.ok(portrait !== undefined, 'orientations without frames are reported (and filled) too');
  const ready = await database.query(`SELECT count(*)::int AS count FROM frames WHERE source = 'library' AND genre = 'house' AND orientation = 'landscape'`);
  t.ok(ready.rows[0].count >= 10, 'filled frames are library frames');
  const nobodyCharged = await database.query(`SELECT count(*)::int AS count FROM generations WHERE purpose = 'pantry' AND (charge <> 'none' OR user_id IS NOT NULL)`);
  t.equal(nobodyCharged.rows[0].count, 0, 'fills are charged to nobody');
});
