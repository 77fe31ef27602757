/**
 * A headless player built on the SDK alone (and the `ws` package, Node 20 having no WebSocket):
 *
 *   node --import tsx client-sdk/examples/stream.ts --url ws://127.0.0.1:8080/v1/stream --token JWT \
 *     [--frames 20] [--interval-ms 1000] [--orientation landscape] [--genre techno] [--mood energetic]
 *
 * It shows `--frames` frames, one every `--interval-ms`, prints a line per frame and likes every
 * fourth. Restart the server meanwhile: the player keeps asking, the SDK reconnects (bridging the
 * gap with prefetched or cached frames) and the show goes on. Ends with the SDK's counters; exits
 * 0 when every frame was shown, 1 when the client stopped (token refused, attempts exhausted).
 */
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { TitrateClient, TitrateError, type Frame, type Orientation } from '@titrate/client-sdk';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:8080/v1/stream' },
    token: { type: 'string' },
    frames: { type: 'string', default: '20' },
    'interval-ms': { type: 'string', default: '1000' },
    orientation: { type: 'string', default: 'landscape' },
    genre: { type: 'string', default: 'techno' },
    mood: { type: 'string', default: 'energetic' },
  },
});

function usage(problem: string): never {
  process.stderr.write(`${problem}\nusage: stream.ts --url ws://HOST:PORT/v1/stream --token JWT [--frames 20] [--interval-ms 1000]\n`);
  process.exit(2);
}

const framesWanted = Number(values.frames);
const intervalMs = Number(values['interval-ms']);
if (values.token === undefined) usage('--token is required (npm run token -- --user demo)');
if (!Number.isInteger(framesWanted) || framesWanted < 1 || framesWanted > 100_000) usage('--frames must be an integer in 1..100000');
if (!Number.isInteger(intervalMs) || intervalMs < 0 || intervalMs > 3_600_000) usage('--interval-ms must be an integer in 0..3600000');
if (!['landscape', 'portrait', 'square'].includes(values.orientation)) usage('--orientation is landscape, portrait or square');

const client = new TitrateClient({
  url: values.url,
  token: values.token,
  orientation: values.orientation as Orientation,
  context: { genre: values.genre, mood: values.mood, energy: 0.7 },
  device: 'stream example',
  WebSocket,
});

const log = (line: string) => process.stdout.write(`${line}\n`);
client.on('state', (change) => log(`# ${change.previous} → ${change.state}${change.reason === null ? '' : ` (${change.reason})`}`));
client.on('welcome', (welcome) => log(`# welcome: session ${welcome.session}${welcome.resumed ? ' (resumed)' : ''}, tier ${welcome.tier}, ${welcome.balance.available} credits`));
client.on('notice', (notice) => log(`# notice ${notice.code}: ${notice.text}`));
client.on('pending', (pending) => log(`# a fresh frame is being generated (about ${Math.round(pending.etaMs / 1000)} s)`));
client.on('beacon', (answer) => {
  const outcome = answer.ok ? `reward ${answer.reward ?? '?'}` : `refused: ${answer.code}`;
  log(`#   beacon for ${answer.beacon.frame.slice(0, 8)}: dwell ${answer.beacon.dwellMs} ms, ${outcome}`);
});

let stopping = false;
process.on('SIGINT', () => {
  if (stopping) process.exit(130);
  stopping = true;
  log('# interrupted: closing');
  client.close().then(() => process.exit(130));
});

function describe(frame: Frame, index: number, previous: Frame | null): string {
  const dwell = previous?.shownAt === undefined || frame.shownAt === undefined ? '-' : `${frame.shownAt - previous.shownAt} ms`;
  const where = frame.offline ? 'offline ' : '';
  return `${String(index).padStart(4)}  ${where}${frame.source.padEnd(7)} ${frame.fallback.padEnd(17)} charged ${frame.charged}  balance ${frame.balance.available}  dwell of previous ${dwell}  ${frame.genre}/${frame.mood}/${frame.style}`;
}

let previous: Frame | null = null;
let exitCode = 0;
try {
  for (let index = 1; index <= framesWanted && !stopping; index += 1) {
    const frame = await client.next();
    log(describe(frame, index, previous));
    if (index % 4 === 0) client.like();
    previous = frame;
    // The last frame stays up for its interval too, so that its beacon reports a real dwell.
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
} catch (error) {
  exitCode = 1;
  log(`# stopped: ${error instanceof TitrateError ? `${error.code}: ${error.message}` : String(error)}`);
}
await client.close();
const stats = client.stats();
log(
  `# shown ${stats.framesShown} (${stats.offlineShown} offline), beacons acknowledged ${stats.beaconsAcknowledged}, ` +
    `queued ${stats.beaconsQueued}, dropped ${stats.beaconsDropped}, reconnects ${stats.reconnects}, ` +
    `connection attempts ${stats.connectionAttempts}, invalid server messages ${stats.invalidServerMessages}`,
);
process.exit(exitCode);
