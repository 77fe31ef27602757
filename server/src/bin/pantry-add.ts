/**
 * `npm run pantry:add -- DIR --genre G --mood M [--style S] [--energy E] [--url URL] [--token T]`:
 * adds every image of a folder (not its subfolders) to a running server's pantry through the admin
 * API, a few uploads at a time, one file per request, so that one bad file never holds back the rest.
 *
 * It finds the server and the token the way the server finds its own settings: the URL defaults
 * to this machine at PORT, the token to ADMIN_TOKEN, else to the one the server keeps in
 * DATA_DIR/secrets.json (read, never created: a missing file means no server has run here).
 *
 * Exit codes: 0 when every file is in the pantry (new or already there), 1 when a file was
 * refused, 2 when nothing could be tried (bad arguments, no token, no server, a refused token).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { limits } from '../limits.js';
import { parseFrameLabels, PantryIngestError, type FrameLabels } from '../pantry/ingest.js';

const usage = 'usage: npm run pantry:add -- DIR --genre GENRE --mood MOOD [--style STYLE] [--energy 0..1] [--url URL] [--token ADMIN_TOKEN]';

const contentTypeByExtension: Record<string, string> = {
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp', '.avif': 'image/avif',
  '.gif': 'image/gif', '.tif': 'image/tiff', '.tiff': 'image/tiff',
};

const Arguments = z.object({
  directory: z.string().min(1, 'name the folder of images'),
  genre: z.string({ error: 'is required' }),
  mood: z.string({ error: 'is required' }),
  style: z.string().optional(),
  energy: z
    .string()
    .regex(/^\s*\d*\.?\d+\s*$/, 'must be a number from 0 to 1')
    .transform(Number)
    .pipe(z.number().min(0, 'must be a number from 0 to 1').max(1, 'must be a number from 0 to 1'))
    .optional(),
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  token: z.string().min(1, 'is empty').optional(),
});

/** Issues as the command line spells them: `--genre is required`. */
const describeArguments = (error: z.ZodError) =>
  error.issues.map((issue) => (issue.path[0] === 'directory' ? issue.message : `--${String(issue.path[0])} ${issue.message}`)).join('; ');

type Plan = { directory: string; labels: FrameLabels; url: string; token: string };
type Outcome = { kind: 'added' | 'present' | 'refused'; line: string };

/** Thrown for anything that stops the run before or between files: exit 2. */
class StopError extends Error {}

async function main(argv: string[]): Promise<number> {
  const plan = await planFrom(argv);
  const files = await imageFiles(plan.directory);
  await checkServer(plan.url);
  const outcomes = await uploadAll(plan, files);
  const count = (kind: Outcome['kind']) => outcomes.filter((outcome) => outcome.kind === kind).length;
  process.stdout.write(`${count('added')} added, ${count('present')} already in the pantry, ${count('refused')} refused (${files.length} files in ${plan.directory})\n`);
  return count('refused') > 0 ? 1 : 0;
}

async function planFrom(argv: string[]): Promise<Plan> {
  let parsedArguments: ReturnType<typeof parseCommandLine>;
  try {
    parsedArguments = parseCommandLine(argv);
  } catch (error) {
    throw new StopError(`${(error as Error).message}\n${usage}`);
  }
  const { values, positionals } = parsedArguments;
  if (positionals.length !== 1) throw new StopError(`name exactly one folder of images\n${usage}`);
  const checked = Arguments.safeParse({ ...values, directory: positionals[0] });
  if (!checked.success) throw new StopError(`${describeArguments(checked.error)}\n${usage}`);
  const { directory, genre, mood, style, energy, url, token } = checked.data;
  let labels: FrameLabels;
  try {
    labels = parseFrameLabels({ genre, mood, ...(style === undefined ? {} : { style }), ...(energy === undefined ? {} : { energy }) });
  } catch (error) {
    if (error instanceof PantryIngestError) throw new StopError(`${error.message}\n${usage}`);
    throw error;
  }
  const config = serverConfig();
  if (url === undefined && config.port === 0) throw new StopError('PORT=0 gives the server a random port: pass --url with the one it printed');
  return {
    directory: path.resolve(directory),
    labels,
    url: (url ?? `http://127.0.0.1:${config.port}`).replace(/\/+$/, ''),
    token: token ?? config.adminToken ?? (await storedAdminToken(config.dataDir)),
  };
}

function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      genre: { type: 'string' }, mood: { type: 'string' }, style: { type: 'string' }, energy: { type: 'string' },
      url: { type: 'string' }, token: { type: 'string' },
    },
  });
}

/** The same environment the server reads, so that PORT, ADMIN_TOKEN and DATA_DIR mean the same here. */
function serverConfig(): Config {
  try {
    return loadConfig(process.env, process.cwd());
  } catch (error) {
    if (error instanceof ConfigError) throw new StopError(error.message);
    throw error;
  }
}

const StoredToken = z.object({ adminToken: z.string().min(16) });

async function storedAdminToken(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'secrets.json');
  const hint = 'pass --token or set ADMIN_TOKEN (the server prints its admin token when it starts)';
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new StopError(`no admin token: ${file} does not exist here; ${hint}`);
  }
  const stored = StoredToken.safeParse((() => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  })());
  if (!stored.success) throw new StopError(`no admin token: ${file} holds none; ${hint}`);
  return stored.data.adminToken;
}

/** The folder's image files by extension, sorted by name, at most `pantryAddFilesMax`. */
async function imageFiles(directory: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    throw new StopError(`cannot read the folder ${directory}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const files = entries
    .filter((entry) => entry.isFile() && path.extname(entry.name).toLowerCase() in contentTypeByExtension)
    .map((entry) => path.join(directory, entry.name))
    .sort();
  if (files.length === 0) throw new StopError(`no image files in ${directory} (looked for ${Object.keys(contentTypeByExtension).join(' ')})`);
  if (files.length > limits.pantryAddFilesMax) {
    throw new StopError(`${directory} holds ${files.length} images, more than the ${limits.pantryAddFilesMax} one run takes: split it into smaller folders`);
  }
  return files;
}

async function checkServer(url: string): Promise<void> {
  try {
    await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(limits.pantryAddProbeTimeoutMs) });
  } catch {
    throw new StopError(`no Titrate server answers at ${url}: start it with npm start (or pass --url)`);
  }
}

/** Uploads with `pantryAddUploadsInFlightMax` workers; a refused token stops them all. */
async function uploadAll(plan: Plan, files: string[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  let stopped: StopError | null = null;
  const worker = async () => {
    while (stopped === null && next < files.length) {
      const file = files[next++]!;
      try {
        const outcome = await upload(plan, file);
        outcomes.push(outcome);
        process.stdout.write(`${outcome.line}\n`);
      } catch (error) {
        if (!(error instanceof StopError)) throw error;
        stopped ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limits.pantryAddUploadsInFlightMax, files.length) }, worker));
  if (stopped !== null) throw stopped;
  return outcomes;
}

const UploadAnswer = z.object({
  frames: z.array(z.object({ id: z.string(), created: z.boolean(), width: z.number(), height: z.number(), orientation: z.string() })).min(1),
});
const FailureAnswer = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

async function upload(plan: Plan, file: string): Promise<Outcome> {
  const name = path.basename(file);
  const refused = (message: string): Outcome => ({ kind: 'refused', line: `refused ${name}: ${message}` });
  const { size } = await stat(file);
  if (size > limits.ingestBytesMax) return refused(`${size} bytes, more than the ${limits.ingestBytesMax} an image may have`);
  const data = await readFile(file);
  const query = new URLSearchParams({ genre: plan.labels.genre, mood: plan.labels.mood, style: plan.labels.style });
  if (plan.labels.energy !== null) query.set('energy', String(plan.labels.energy));
  let response: Response;
  try {
    response = await fetch(`${plan.url}/v1/admin/frames?${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${plan.token}`, 'content-type': contentTypeByExtension[path.extname(file).toLowerCase()]! },
      body: data,
      signal: AbortSignal.timeout(limits.pantryAddUploadTimeoutMs),
    });
  } catch (error) {
    return refused(`no answer from ${plan.url} (${(error as Error).message})`);
  }
  const body: unknown = await response.json().catch(() => null);
  if (response.status === 401) throw new StopError(`the server at ${plan.url} refused the admin token: pass the one it printed with --token or ADMIN_TOKEN`);
  const answer = UploadAnswer.safeParse(body);
  if (response.ok && answer.success) {
    const frame = answer.data.frames[0]!;
    return frame.created
      ? { kind: 'added', line: `added ${frame.id} ${frame.width}×${frame.height} ${frame.orientation}` }
      : { kind: 'present', line: `already in the pantry ${frame.id}` };
  }
  const failure = FailureAnswer.safeParse(body);
  return refused(failure.success ? failure.data.error.message : `the server answered ${response.status}`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`pantry:add: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = error instanceof StopError ? 2 : 1;
  },
);
