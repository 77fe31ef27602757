/** Helpers for tests of fresh frames: users in burst mode, `next` until its frame, the ledger's view. */
import type { Titrate } from '../../src/main.js';
import { TestClient, type Received } from './client.js';

export const landscapeTechno = { genre: 'techno', mood: 'energetic', energy: 0.8 };

export async function admin(server: Titrate, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

/** Creates a user on `tier` (default premium: 600 credits). */
export async function createUser(server: Titrate, id: string, tier = 'premium'): Promise<void> {
  const created = await admin(server, 'PUT', `/v1/admin/users/${id}`, { tier });
  if (created.status >= 300) throw new Error(`could not create ${id}: ${JSON.stringify(created.body)}`);
}

/** A connected player who said hello and bought a burst (always fresh). */
export async function burstPlayer(server: Titrate, userId: string, hello: Record<string, unknown> = {}): Promise<TestClient> {
  const client = await TestClient.connect(server.url, await server.tokens.issue(userId, 3600));
  await client.hello({ context: landscapeTechno, ...hello });
  client.send({ t: 'burst', id: `burst-${userId}` });
  const ack = await client.takeType('ack');
  if (ack['ok'] !== true) throw new Error(`burst refused: ${JSON.stringify(ack)}`);
  return client;
}

/** Sends `next` and collects what answers it: an optional `pending`, then the `frame` (or `error`). */
export async function nextFrame(client: TestClient, id: string, timeoutMs = 20_000, extra: Record<string, unknown> = {}): Promise<{ pending: Received | null; frame: Received }> {
  client.send({ t: 'next', id, ...extra });
  const first = await client.take((message) => ['pending', 'frame', 'error'].includes(message.t) && message['req'] === id, timeoutMs);
  if (first.t !== 'pending') return { pending: null, frame: first };
  const frame = await client.take((message) => (message.t === 'frame' || message.t === 'error') && message['req'] === id, timeoutMs);
  return { pending: first, frame };
}

export type EntrySummary = { id: string; type: string; amount: number; requestId: string | null; details: Record<string, unknown> };

export async function entriesOf(server: Titrate, userId: string): Promise<EntrySummary[]> {
  const answer = await admin(server, 'GET', `/v1/admin/users/${userId}/ledger?limit=500`);
  return answer.body.entries as EntrySummary[];
}

/** Every generation debit of the user, and the refunds that point at each. */
export async function debitsAndRefunds(server: Titrate, userId: string): Promise<{ debits: EntrySummary[]; refundsByDebit: Map<string, number> }> {
  const entries = await entriesOf(server, userId);
  const debits = entries.filter((entry) => entry.type === 'generation');
  const refundsByDebit = new Map<string, number>();
  for (const refund of entries.filter((entry) => entry.type === 'refund')) {
    const debitId = String(refund.details['debitId']);
    refundsByDebit.set(debitId, (refundsByDebit.get(debitId) ?? 0) + 1);
  }
  return { debits, refundsByDebit };
}

export async function available(server: Titrate, userId: string): Promise<number> {
  return (await admin(server, 'GET', `/v1/admin/users/${userId}/credits`)).body.available as number;
}

export async function until<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
