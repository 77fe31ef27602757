/**
 * The reference web player: the client SDK driving a full-screen show. Frames cross-fade on the
 * cadence the BPM sets; the bar says whether each is fresh or from the library (and why), what the
 * credits are and will be, and how the connection is; the controls change the track, conserve
 * credits or buy a burst. Everything shown comes from the server's messages through `view.ts`.
 *
 * `window.titratePlayer` exposes the client and a few readings for diagnostics and the browser
 * test.
 */
import { TitrateClient, type Frame, type Welcome } from '@titrate/client-sdk';
import type { Balance, Context, Forecast, Mix } from '@titrate/shared';
import { badgeOf, cadenceMs, countdown, forecastText, mixText, orientationOf, playerLimits, tokenFrom } from './view.js';

type PlayerConfig = { demoToken: string | null; demoUser: string | null };

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  stage: element<HTMLElement>('stage'),
  layers: [element<HTMLImageElement>('layer-a'), element<HTMLImageElement>('layer-b')] as const,
  connection: element<HTMLElement>('connection'),
  badge: element<HTMLElement>('badge'),
  badgeTip: element<HTMLElement>('badge-tip'),
  mix: element<HTMLElement>('mix'),
  credits: element<HTMLElement>('credits'),
  forecast: element<HTMLElement>('forecast'),
  unlimited: element<HTMLElement>('unlimited'),
  start: element<HTMLFormElement>('start'),
  token: element<HTMLInputElement>('token'),
  tokenHint: element<HTMLElement>('token-hint'),
  controls: element<HTMLElement>('controls'),
  genre: element<HTMLSelectElement>('genre'),
  mood: element<HTMLSelectElement>('mood'),
  energy: element<HTMLInputElement>('energy'),
  bpm: element<HTMLInputElement>('bpm'),
  dj: element<HTMLInputElement>('dj'),
  portrait: element<HTMLInputElement>('portrait'),
  conserve: element<HTMLInputElement>('conserve'),
  burst: element<HTMLButtonElement>('burst'),
  burstTimer: element<HTMLElement>('burst-timer'),
  like: element<HTMLButtonElement>('like'),
  switchUser: element<HTMLButtonElement>('switch-user'),
  toast: element<HTMLElement>('toast'),
};

const stateWords: Record<string, string> = {
  idle: 'Not connected', connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline · cached frames',
  closed: 'Stopped', unauthorized: 'Token refused', failed: 'Disconnected',
};

const config = readConfig();
let client: TitrateClient | null = null;
let token: string | null = null;
let unlimited = false;
let burstPrice: number | null = null;
let burstUntilMs: number | null = null;
let visibleLayer = 0;
let showTimer: ReturnType<typeof setTimeout> | null = null;
let objectUrl: string | null = null;
let generation = 0;
const shownFrames: Array<{ id: string; source: string; p: number; offline: boolean }> = [];

function readConfig(): PlayerConfig {
  const text = document.getElementById('titrate-config')?.textContent ?? '{}';
  try {
    const parsed = JSON.parse(text) as Partial<PlayerConfig>;
    return { demoToken: parsed.demoToken ?? null, demoUser: parsed.demoUser ?? null };
  } catch {
    return { demoToken: null, demoUser: null };
  }
}

function context(): Context {
  return { genre: ui.genre.value, mood: ui.mood.value, energy: Number(ui.energy.value) };
}

function streamUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/stream`;
}

let toastTimer: ReturnType<typeof setTimeout> | null = null;
function toast(text: string): void {
  ui.toast.textContent = text;
  ui.toast.classList.add('visible');
  if (toastTimer !== null) clearTimeout(toastTimer);
  toastTimer = setTimeout(() => ui.toast.classList.remove('visible'), playerLimits.toastMs);
}

function showCredits(balance: Balance, forecast: Forecast): void {
  ui.credits.textContent = unlimited ? 'Credits: ∞' : `Credits: ${balance.available}`;
  const { line, risk } = forecastText(forecast, unlimited);
  ui.forecast.textContent = `${line}. ${risk}.`;
  ui.credits.dataset['risk'] = forecast.runOutRisk;
}

function showMix(mix: Mix): void {
  ui.mix.textContent = mixText(mix);
}

function updateBurstButton(): void {
  ui.burst.textContent = burstPrice === null ? 'Always Fresh for 15 mins' : `Always Fresh for 15 mins · ${burstPrice} credits`;
  ui.burst.hidden = unlimited;
}

function tickBurst(): void {
  const left = burstUntilMs === null ? null : countdown(burstUntilMs, Date.now());
  ui.burstTimer.textContent = left === null ? '' : `Fresh for ${left}`;
  if (left === null) burstUntilMs = null;
}
setInterval(tickBurst, 1000);

function onWelcome(welcome: Welcome): void {
  unlimited = welcome.unlimited;
  burstPrice = welcome.burstPrice ?? null;
  burstUntilMs = welcome.burstUntil === null ? null : Date.parse(welcome.burstUntil);
  ui.unlimited.hidden = !unlimited;
  ui.conserve.checked = welcome.conserve;
  showCredits(welcome.balance, welcome.forecast);
  showMix(welcome.mix);
  updateBurstButton();
  tickBurst();
}

async function display(frame: Frame): Promise<void> {
  let source = frame.imageUrl;
  if (frame.offline && frame.bytes !== undefined) {
    if (objectUrl !== null) URL.revokeObjectURL(objectUrl);
    objectUrl = URL.createObjectURL(new Blob([frame.bytes as BlobPart]));
    source = objectUrl;
  }
  const next = ui.layers[1 - visibleLayer]!;
  next.src = source;
  next.alt = `${frame.genre} / ${frame.mood}, ${frame.style}`;
  await next.decode().catch(() => undefined);
  next.classList.add('shown');
  ui.layers[visibleLayer]!.classList.remove('shown');
  visibleLayer = 1 - visibleLayer;
  const badge = badgeOf(frame);
  ui.badge.hidden = false;
  ui.badge.textContent = badge.label;
  ui.badge.dataset['source'] = frame.offline ? 'offline' : frame.source;
  ui.badgeTip.textContent = badge.tooltip;
  ui.stage.dataset['frameId'] = frame.id;
  ui.stage.dataset['p'] = String(frame.p);
  ui.stage.dataset['source'] = frame.source;
  shownFrames.push({ id: frame.id, source: frame.source, p: frame.p, offline: frame.offline });
  if (shownFrames.length > 500) shownFrames.shift();
  if (!frame.offline) {
    showCredits(frame.balance, frame.forecast);
    showMix(frame.mix);
  }
  ui.like.setAttribute('aria-pressed', 'false');
}

/** Asks for the next frame on the BPM's cadence; one loop per connection (`generation`). */
function schedule(loop: number, delayMs: number): void {
  if (showTimer !== null) clearTimeout(showTimer);
  showTimer = setTimeout(async () => {
    if (loop !== generation || client === null) return;
    const started = Date.now();
    try {
      await display(await client.next());
    } catch (error) {
      if (loop === generation) toast(error instanceof Error ? error.message : String(error));
    }
    if (loop === generation) schedule(loop, Math.max(0, cadenceMs(Number(ui.bpm.value), ui.dj.checked) - (Date.now() - started)));
  }, delayMs);
}

async function start(): Promise<void> {
  if (token === null) return;
  generation += 1;
  const loop = generation;
  const previous = client;
  client = null;
  if (previous !== null) await previous.close().catch(() => undefined);
  const next = new TitrateClient({
    url: streamUrl(), token, orientation: orientationOf(innerWidth, innerHeight, ui.portrait.checked), context: context(), device: 'web-player',
  });
  client = next;
  next.on('state', ({ state, reason }) => {
    ui.connection.textContent = stateWords[state] ?? state;
    ui.connection.dataset['state'] = state;
    if (state === 'unauthorized') toast(reason ?? 'The token was refused');
  });
  next.on('welcome', onWelcome);
  next.on('balance', ({ balance, forecast }) => showCredits(balance, forecast));
  next.on('notice', ({ text }) => toast(text));
  next.on('error', ({ message }) => toast(message));
  try {
    await next.connect();
  } catch (error) {
    toast(error instanceof Error ? error.message : String(error));
    return;
  }
  ui.start.hidden = true;
  ui.controls.hidden = false;
  schedule(loop, 0);
}

ui.start.addEventListener('submit', (event) => {
  event.preventDefault();
  token = ui.token.value.trim();
  if (token !== '') void start();
});

for (const control of [ui.genre, ui.mood, ui.energy]) control.addEventListener('change', () => client?.setContext(context()));
ui.dj.addEventListener('change', () => {
  if (client !== null) schedule(generation, 0);
});
ui.portrait.addEventListener('change', () => void start());
ui.conserve.addEventListener('change', () => client?.conserve(ui.conserve.checked));
ui.like.addEventListener('click', () => {
  client?.like();
  ui.like.setAttribute('aria-pressed', 'true');
});
ui.burst.addEventListener('click', async () => {
  if (client === null || ui.burst.disabled) return;
  ui.burst.disabled = true;
  try {
    const ack = (await client.burst()) as { ok: boolean; until?: string; charged?: number; code?: string; price?: number };
    if (ack.ok && typeof ack.until === 'string') {
      burstUntilMs = Date.parse(ack.until);
      tickBurst();
      toast(`Always fresh until ${new Date(burstUntilMs).toLocaleTimeString()} · ${ack.charged ?? 0} credits`);
      // The next frame is fresh at once.
      schedule(generation, 0);
    } else toast(ack.code === 'insufficient_credits' ? `Not enough credits for a burst (${ack.price ?? burstPrice ?? '?'} needed)` : `Burst refused: ${ack.code ?? 'unknown'}`);
  } catch (error) {
    toast(error instanceof Error ? error.message : String(error));
  } finally {
    ui.burst.disabled = false;
  }
});

ui.switchUser.addEventListener('click', async () => {
  generation += 1;
  const previous = client;
  client = null;
  if (previous !== null) await previous.close().catch(() => undefined);
  ui.controls.hidden = true;
  ui.start.hidden = false;
  ui.connection.textContent = stateWords['idle']!;
  ui.token.focus();
});

ui.token.value = tokenFrom(location.search, config.demoToken) ?? '';
ui.tokenHint.textContent = config.demoToken !== null ? `Pre-filled with a token for the demo user "${config.demoUser ?? 'demo'}" (development).` : 'Get one with: npm run token -- --user demo';
// A token in the page's URL, or the demo user's in development: the show starts at once.
if (ui.token.value !== '') {
  token = ui.token.value;
  void start();
}

(window as unknown as { titratePlayer: unknown }).titratePlayer = {
  get client() {
    return client;
  },
  shownFrames,
};
