/**
 * Generation workers: `slots` loops in this process, each taking one job at a time (interactive
 * before background), so a process never runs more than `slots` provider calls at once.
 *
 * One job, start to end:
 *   claim      queued → running (fails when the generation was already settled: do nothing)
 *   generate   the provider call, bounded by GEN_TIMEOUT_MS and the generation's own deadline;
 *              a 429 is retried once its Retry-After fits in the time left, a bounded number of times
 *   normalise  the bytes must decode as a real image; they are fitted to the frame size as WebP
 *   store      content-addressed file + frames row
 *   complete   running → ready for this attempt only; if the deadline failed it meanwhile (and
 *              refunded it), the image is kept for the pantry instead and nobody is charged
 *   announce   on the bus, so the node holding the session delivers it
 *
 * A step that throws after the claim (the image cannot be stored, the database refuses) fails the
 * generation and refunds its debit at once, so the player is answered from the library now.
 *
 * A pantry fill (purpose 'pantry': no user, no charge) is stored straight into the library with
 * its analysis and joins the pantry instead of being announced to a session.
 *
 * A provider that ignores the abort signal is not waited for: the generation fails (and refunds)
 * on time, and the late image, if it comes within `lateResultGraceMs`, goes to the pantry.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import { analyseImage } from '../pantry/image.js';
import type { FrameRow, FrameStore } from '../pantry/store.js';
import type { ModelSpec } from './models.js';
import { normaliseImage } from './providers/normalise.js';
import { ProviderError, type ImageProvider, type ImageRequest } from './providers/provider.js';
import { negativePrompt, seedOf } from './prompt.js';
import type { GenerationQueue, GenerationJob } from './queue.js';
import { outcomeLabel, type GenerationSaga } from './saga.js';
import type { Generation, GenerationStore } from './store.js';

export const workerLimits = {
  /** Provider calls one job may make when rate-limited (the first try included). */
  providerAttemptsMax: 3,
  /** How often an idle process polls the queues (one slot polls for all; a local enqueue wakes them at once). */
  idlePollMs: 250,
  /** How often a worker process tells the others it is alive (the wait estimate counts its slots). */
  heartbeatIntervalMs: 5_000,
  /** How long a late image from a provider that ignored the abort is still kept for the pantry. */
  lateResultGraceMs: 60_000,
  /** Time the running jobs get to finish when the process stops. */
  stopDrainMs: 5_000,
} as const;

export type WorkerServices = {
  store: GenerationStore;
  queue: GenerationQueue;
  saga: GenerationSaga;
  provider: ImageProvider;
  models: readonly ModelSpec[];
  frames: FrameStore;
  metrics: Metrics;
  log: Logger;
  generationTimeoutMs: number;
  /** Pantry fills, and frames that arrived too late to be charged, join the pantry through this. */
  addToPantry: (frame: FrameRow) => void;
};

export class GenerationWorker {
  readonly id = `worker-${randomUUID()}`;
  readonly #services: WorkerServices;
  readonly #slots: number;
  #running = false;
  #loops: Array<Promise<void>> = [];
  #wakers = new Set<() => void>();
  /** An idle slot is polling on a timer (see `#idle`). */
  #watching = false;
  #heartbeat: NodeJS.Timeout | null = null;

  constructor(services: WorkerServices, slots: number) {
    this.#services = services;
    this.#slots = slots;
  }

  async start(): Promise<void> {
    this.#running = true;
    await this.#beat();
    this.#heartbeat = setInterval(() => void this.#beat(), workerLimits.heartbeatIntervalMs);
    this.#heartbeat.unref();
    this.#loops = Array.from({ length: this.#slots }, () => this.#loop());
  }

  /** Work was just enqueued by this process: idle slots look now instead of at their next poll. */
  wake(): void {
    for (const waker of this.#wakers) waker();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
    this.wake();
    const drained = Promise.all(this.#loops);
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, workerLimits.stopDrainMs).unref())]);
    await this.#services.store.removeWorker(this.id).catch(() => undefined);
  }

  async #beat(): Promise<void> {
    await this.#services.store.heartbeat(this.id, this.#slots).catch((error: unknown) => this.#services.log.warn({ err: error }, 'worker heartbeat failed'));
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      let job: GenerationJob | null = null;
      try {
        job = await this.#services.queue.fetchNext();
      } catch (error) {
        this.#services.log.warn({ err: error }, 'could not fetch a generation job');
      }
      if (job === null) {
        await this.#idle();
        continue;
      }
      // There may be more where this one came from: an idle slot looks now.
      this.#wakeOne();
      await this.#process(job).catch((error: unknown) => this.#services.log.error({ err: error, job: job.jobId }, 'generation job crashed'));
    }
  }

  /**
   * An idle slot waits for a wake. One of them (the watch) also polls the queues every
   * `idlePollMs`, for work other processes enqueued; when a poll finds a job, the next idle slot is
   * woken to look again, so a backlog still reaches every slot at once. So an idle process polls
   * as often with 16 slots as with one, instead of 16 times as often.
   */
  #idle(): Promise<void> {
    return new Promise((resolve) => {
      const watch = !this.#watching;
      if (watch) this.#watching = true;
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        if (watch) this.#watching = false;
        resolve();
      };
      const timer = watch ? setTimeout(done, workerLimits.idlePollMs) : undefined;
      this.#wakers.add(done);
    });
  }

  #wakeOne(): void {
    const first = this.#wakers.values().next();
    if (first.done !== true) first.value();
  }

  async #process(job: GenerationJob): Promise<void> {
    const { store, queue, metrics } = this.#services;
    const generation = job.generationId === '' ? null : await store.claim(job.generationId);
    if (generation === null) {
      // Already settled (its deadline passed while it waited), or not ours to run.
      await queue.complete(job);
      return;
    }
    metrics.generationWait.observe({ queue: job.queue }, Math.max(0, (generation.startedAtMs ?? Date.now()) - generation.createdAtMs) / 1000);
    const result = await this.#generate(generation).catch((error: unknown) => this.#crashed(generation, error));
    if (result.ok) await queue.complete(job);
    else await queue.fail(job, result.reason);
  }

  /**
   * A step after the claim threw (the frame could not be stored, the database refused): the
   * generation fails now and its debit is refunded, instead of holding the user's credits until
   * its deadline (minutes for a congested one). Past `complete` this changes nothing.
   */
  async #crashed(generation: Generation, error: unknown): Promise<{ ok: false; reason: string }> {
    const { saga, log } = this.#services;
    const detail = error instanceof Error ? error.message : String(error);
    const failedHere = await saga.fail(generation.id, 'internal', generation.attempt).catch((failure: unknown) => {
      log.error({ err: failure, generation: generation.id }, 'a crashed generation could not be failed; its deadline settles it');
      return false;
    });
    log.error({ err: error, generation: generation.id, failedHere }, 'generation crashed');
    return { ok: false, reason: `internal: ${detail}` };
  }

  async #generate(generation: Generation): Promise<{ ok: true } | { ok: false; reason: string }> {
    const { store, saga, metrics, log } = this.#services;
    const model = this.#services.models.find((candidate) => candidate.id === generation.model);
    if (model === undefined) {
      await saga.fail(generation.id, 'internal', generation.attempt);
      return { ok: false, reason: `model ${generation.model} is not configured on this worker` };
    }
    const budgetMs = Math.min(this.#services.generationTimeoutMs, generation.deadlineAtMs - Date.now());
    const started = performance.now();
    const attempt = await this.#callProvider(generation, model, budgetMs);
    if (!attempt.ok) {
      const failedHere = await saga.fail(generation.id, attempt.reason, generation.attempt);
      log.warn({ generation: generation.id, reason: attempt.reason, detail: attempt.detail, failedHere }, 'generation failed');
      return { ok: false, reason: `${attempt.reason}: ${attempt.detail}` };
    }
    const fill = generation.purpose === 'pantry';
    const frame = await this.#services.frames.add({
      source: fill ? 'library' : 'fresh', genre: generation.genre, mood: generation.mood, style: generation.style, orientation: generation.orientation,
      energy: generation.energy, width: attempt.image.width, height: attempt.image.height, contentType: attempt.image.contentType,
      data: attempt.image.data, prompt: generation.prompt, analysis: fill ? await this.#analysis(attempt.image.data, generation.id) : null,
    });
    const completed = await store.complete(generation.id, generation.attempt, frame.id, model.usd);
    const seconds = (performance.now() - started) / 1000;
    if (completed === null) {
      await this.#keepForPantry(frame, generation);
      return { ok: true };
    }
    if (fill) {
      metrics.generations.inc({ model: model.id, outcome: 'ready' });
      metrics.generationSeconds.observe({ model: model.id }, seconds);
      metrics.generationDollars.inc({ model: model.id }, model.usd);
      metrics.pantryFills.inc({ result: 'ready' });
      // The same bytes may already be a paid fresh frame (deterministic providers): that one stays fresh.
      if (frame.source === 'library') this.#services.addToPantry(frame);
      return { ok: true };
    }
    // The frame is the user's now: a prompt cache that cannot take it must not keep it from them.
    await store
      .putCache({ promptHash: generation.promptHash, promptKey: generation.promptKey, variant: generation.variant, frameId: frame.id, model: model.id })
      .catch((error: unknown) => log.warn({ err: error, generation: generation.id }, 'frame not added to the prompt cache'));
    metrics.generations.inc({ model: model.id, outcome: 'ready' });
    metrics.generationSeconds.observe({ model: model.id }, seconds);
    metrics.generationDollars.inc({ model: model.id }, model.usd);
    await saga.announce({ id: generation.id, session: generation.sessionId, user: generation.userId, outcome: 'ready' });
    return { ok: true };
  }

  /** The provider call with its deadline and bounded rate-limit retries. */
  async #callProvider(
    generation: Generation,
    model: ModelSpec,
    budgetMs: number,
  ): Promise<{ ok: true; image: Awaited<ReturnType<typeof normaliseImage>> } | { ok: false; reason: string; detail: string }> {
    const deadline = Date.now() + Math.max(0, budgetMs);
    const request: ImageRequest = {
      prompt: generation.prompt, negativePrompt, model, width: generation.width, height: generation.height,
      orientation: generation.orientation, seed: seedOf(generation.promptHash), genre: generation.genre, mood: generation.mood,
      style: generation.style, energy: generation.energy,
    };
    for (let attempt = 1; ; attempt += 1) {
      const leftMs = deadline - Date.now();
      if (leftMs <= 0) return { ok: false, reason: 'timeout', detail: 'no time left before the deadline' };
      try {
        const data = await this.#withDeadline(generation, request, leftMs);
        return { ok: true, image: await normaliseImage(data, generation.width, generation.height) };
      } catch (error) {
        const failure = error instanceof ProviderError ? error : new ProviderError('malformed', String(error), { cause: error });
        const waitMs = failure.retryAfterMs ?? 1_000;
        const retry = failure.kind === 'rate_limited' && attempt < workerLimits.providerAttemptsMax && Date.now() + waitMs < deadline;
        if (!retry) return { ok: false, reason: outcomeLabel(failure.kind), detail: failure.message };
        this.#services.metrics.providerRetries.inc({ reason: failure.kind });
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  /** Races the provider against the deadline; a late answer after the deadline goes to the pantry. */
  async #withDeadline(generation: Generation, request: ImageRequest, leftMs: number): Promise<Buffer> {
    const controller = new AbortController();
    const work = this.#services.provider.generate(request, controller.signal);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new ProviderError('timeout', `no image within ${Math.round(leftMs)} ms`));
      }, leftMs);
    });
    try {
      const image = await Promise.race([work, expired]);
      return image.data;
    } catch (error) {
      if (controller.signal.aborted) this.#adoptLateResult(generation, request, work);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  #adoptLateResult(generation: Generation, request: ImageRequest, work: Promise<{ data: Buffer }>): void {
    const grace = new Promise<null>((resolve) => setTimeout(() => resolve(null), workerLimits.lateResultGraceMs).unref());
    Promise.race([work, grace])
      .then(async (late) => {
        if (late === null) return;
        const image = await normaliseImage(late.data, request.width, request.height);
        const frame = await this.#services.frames.add({
          source: 'library', genre: request.genre, mood: request.mood, style: request.style, orientation: request.orientation,
          energy: request.energy, width: image.width, height: image.height, contentType: image.contentType, data: image.data, prompt: request.prompt,
          analysis: await this.#analysis(image.data, generation.id),
        });
        await this.#keepForPantry(frame, generation);
      })
      .catch(() => undefined);
  }

  /** A library image's analysis; without one (it failed) the frame keeps its whole picture when adapted. */
  async #analysis(data: Buffer, generationId: string): Promise<Awaited<ReturnType<typeof analyseImage>> | null> {
    try {
      return await analyseImage(data);
    } catch (error) {
      this.#services.log.warn({ err: error, generation: generationId }, 'image analysis failed; the frame is kept without it');
      return null;
    }
  }

  /** An image nobody may be charged for (its generation was settled without it) joins the pantry. */
  async #keepForPantry(frame: FrameRow, generation: Generation): Promise<void> {
    // The same bytes may be another generation's paid frame (deterministic providers): leave it fresh.
    const library = (await this.#services.store.frameIsDelivered(frame.id)) ? null : await this.#services.frames.markLibrary(frame.id);
    this.#services.metrics.generations.inc({ model: generation.model, outcome: 'late' });
    this.#services.log.info({ generation: generation.id, frame: frame.id }, 'late image kept for the pantry, not charged');
    if (library !== null) this.#services.addToPantry(library);
  }
}
