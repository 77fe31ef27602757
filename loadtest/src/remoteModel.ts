/**
 * A stand-in for a remote image model, so a run can measure the node the way it runs with one: the
 * rendering's CPU is somewhere else, and a fresh frame takes a model's time to arrive. It speaks
 * the Stable Diffusion WebUI's `POST /sdapi/v1/txt2img` (what `GEN_PROVIDER=sd` calls), waits a
 * latency drawn from a range, and answers with one of a few pictures drawn ahead of time for each
 * size asked (the procedural art, so the node's normaliser and analysis see real images).
 *
 * What the node still does for every fresh frame — normalise it, analyse it, store it, adapt it to
 * the screens — stays on the node, as it does in production.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { z } from 'zod';
import { artStyles, renderArtSvg } from '../../server/src/pantry/art.js';
import { seeded } from './driver.js';

export type RemoteModelOptions = {
  /** How long an answer takes, drawn uniformly from [min, max] milliseconds. */
  latencyMs: readonly [min: number, max: number];
  /** Pictures drawn for each size; a request's seed picks one. */
  picturesPerSize?: number;
  /** Sizes to draw before the first request (others are drawn on their first request). */
  sizes?: ReadonlyArray<{ width: number; height: number }>;
  /** Seeds the latencies, so two runs wait alike. */
  seed?: number;
};

export type RemoteModel = {
  url: string;
  /** Requests answered with a picture, and refused (not served, malformed, or failed). */
  stats: () => { answered: number; refused: number };
  stop: () => Promise<void>;
};

/** What the stand-in reads of a request; the rest of the WebUI's body is accepted and ignored. */
const Txt2Img = z.object({
  width: z.number().int().min(64).max(2048),
  height: z.number().int().min(64).max(2048),
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
});

const bodyBytesMax = 64 * 1024;
const sizesMax = 16;
const picturesPerSizeMax = 64;

export async function startRemoteModel(options: RemoteModelOptions): Promise<RemoteModel> {
  const [latencyMin, latencyMax] = options.latencyMs;
  if (!(Number.isInteger(latencyMin) && Number.isInteger(latencyMax) && latencyMin >= 0 && latencyMax >= latencyMin)) {
    throw new RangeError(`latencyMs must be two whole numbers with 0 <= min <= max, not [${latencyMin}, ${latencyMax}]`);
  }
  const picturesPerSize = options.picturesPerSize ?? 8;
  if (!(Number.isInteger(picturesPerSize) && picturesPerSize >= 1 && picturesPerSize <= picturesPerSizeMax)) {
    throw new RangeError(`picturesPerSize must be a whole number from 1 to ${picturesPerSizeMax}, not ${picturesPerSize}`);
  }
  const random = seeded(options.seed ?? 1);
  // Drawn once per size: a few sizes at most (the model's sizes for three screens). A draw that
  // failed is forgotten, so the next request of that size tries again.
  const pictures = new Map<string, Promise<string[]>>();
  const picturesOf = (width: number, height: number): Promise<string[]> | null => {
    const key = `${width}x${height}`;
    const known = pictures.get(key);
    if (known !== undefined) return known;
    if (pictures.size >= sizesMax) return null;
    const drawn = Promise.all(Array.from({ length: picturesPerSize }, (_, index) => drawPicture(width, height, index)));
    pictures.set(key, drawn);
    drawn.catch(() => pictures.delete(key));
    return drawn;
  };
  // The sizes asked for in a run are drawn before it starts, so drawing is not in what it measures.
  await Promise.all((options.sizes ?? []).map((size) => picturesOf(size.width, size.height)));
  let answered = 0;
  let refused = 0;
  const refuse = (response: ServerResponse, status: number, message: string) => {
    refused += 1;
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: message }));
  };

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== 'POST' || request.url !== '/sdapi/v1/txt2img') {
      refuse(response, 404, 'only POST /sdapi/v1/txt2img is served');
      request.resume();
      return;
    }
    void readBody(request).then(async (text) => {
      if (text === null) return refuse(response, 413, `the body is over ${bodyBytesMax} bytes`);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return refuse(response, 400, 'the body is not JSON');
      }
      const parsed = Txt2Img.safeParse(json);
      if (!parsed.success) return refuse(response, 400, `invalid request: ${parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ')}`);
      const pool = picturesOf(parsed.data.width, parsed.data.height);
      if (pool === null) return refuse(response, 400, `no more than ${sizesMax} distinct sizes are served`);
      const delayMs = latencyMin + Math.floor(random() * (latencyMax - latencyMin + 1));
      const [images] = await Promise.all([pool, new Promise((resolve) => setTimeout(resolve, delayMs))]);
      if (response.destroyed) return undefined;
      answered += 1;
      const image = images[(parsed.data.seed ?? answered) % images.length]!;
      response.writeHead(200, { 'content-type': 'application/json' }).end(`{"images":["${image}"]}`);
      return undefined;
    }).catch((error: unknown) => {
      // A client that went away mid-request is not a refusal; a picture that failed to draw is.
      if (!response.headersSent && !response.destroyed) refuse(response, 500, error instanceof Error ? error.message : String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ answered, refused }),
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The body as text, or null when it is longer than the cap (the rest is not read). */
function readBody(request: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > bodyBytesMax) {
        request.removeAllListeners('data');
        request.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.once('error', reject);
  });
}

/** One picture of `width` × `height`, as base64 WebP: the procedural art, stretched to the size asked. */
async function drawPicture(width: number, height: number, index: number): Promise<string> {
  const orientation = width > height ? 'landscape' : width < height ? 'portrait' : 'square';
  const { svg } = renderArtSvg({ genre: 'techno', mood: 'energetic', style: artStyles[index % artStyles.length]!, energy: 0.7, orientation, seed: `remote-${index}` });
  const data = await sharp(Buffer.from(svg)).resize(width, height, { fit: 'fill' }).webp({ quality: 80 }).toBuffer();
  return data.toString('base64');
}
