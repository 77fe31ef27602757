/**
 * The behaviour every session-state engine must have. Each engine's test file runs this suite
 * against a real instance (the in-process engine, and Redis against a real redis-server).
 */
import type { Test } from 'tap';
import { seenScope, type SessionRecord, type SessionStateEngine } from '../../src/state/engine.js';

/** The frames a scope saw, oldest first. */
const seenIds = async (engine: SessionStateEngine, scope: string): Promise<string[]> => [...(await engine.seenFrames(scope)).keys()];

export type EngineFactory = (t: Test) => Promise<SessionStateEngine>;

const record = (id: string, userId = 'user-1'): SessionRecord => ({
  id,
  userId,
  orientation: 'portrait',
  context: { genre: 'jazz', mood: 'calm', energy: 0.3 },
  conserve: false,
  device: 'phone',
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function engineContract(t: Test, makeEngine: EngineFactory): void {
  t.test('stores a session record and reads it back unchanged', async (t) => {
    const engine = await makeEngine(t);
    await engine.putSession(record('s1'), 60_000);
    t.same(await engine.getSession('s1'), record('s1'));
    t.equal(await engine.getSession('missing'), null);
  });

  t.test('replacing a session record keeps its mix', async (t) => {
    const engine = await makeEngine(t);
    await engine.putSession(record('s1'), 60_000);
    await engine.addToMix('s1', 'library', 60_000);
    await engine.putSession({ ...record('s1'), conserve: true }, 60_000);
    t.equal((await engine.getSession('s1'))?.conserve, true);
    t.same(await engine.getMix('s1'), { fresh: 0, library: 1 });
  });

  t.test('a session expires after its time to live', async (t) => {
    const engine = await makeEngine(t);
    await engine.putSession(record('short'), 50);
    await sleep(120);
    t.equal(await engine.getSession('short'), null);
  });

  t.test('touching a session extends its life', async (t) => {
    const engine = await makeEngine(t);
    await engine.putSession(record('touched'), 150);
    await sleep(80);
    await engine.touchSession('touched', 60_000);
    await sleep(120);
    t.not(await engine.getSession('touched'), null);
  });

  t.test("touching a session leaves seen frames alone: they live as long as markSeen said", async (t) => {
    const engine = await makeEngine(t);
    await engine.putSession(record('toucher'), 60_000);
    await engine.markSeen('toucher', 'frame-1', 10, 60_000);
    await engine.touchSession('toucher', 50);
    await sleep(120);
    t.same([...(await engine.seenFrames('toucher')).keys()], ['frame-1']);
  });

  t.test('counts the mix per session and source', async (t) => {
    const engine = await makeEngine(t);
    t.same(await engine.getMix('s2'), { fresh: 0, library: 0 });
    await engine.addToMix('s2', 'library', 60_000);
    await engine.addToMix('s2', 'fresh', 60_000);
    t.same(await engine.addToMix('s2', 'library', 60_000), { fresh: 1, library: 2 });
    t.same(await engine.getMix('other'), { fresh: 0, library: 0 });
  });

  t.test('concurrent mix increments are all counted', async (t) => {
    const engine = await makeEngine(t);
    await Promise.all(Array.from({ length: 50 }, () => engine.addToMix('busy', 'library', 60_000)));
    t.same(await engine.getMix('busy'), { fresh: 0, library: 50 });
  });

  t.test('remembers seen frames per scope, newest last, keeping only the newest max', async (t) => {
    const engine = await makeEngine(t);
    for (const frame of ['a', 'b', 'c', 'd']) {
      await engine.markSeen('viewer', frame, 3, 60_000);
      await sleep(2);
    }
    t.same(await seenIds(engine, 'viewer'), ['b', 'c', 'd']);
    await engine.markSeen('viewer', 'b', 3, 60_000);
    t.same(await seenIds(engine, 'viewer'), ['c', 'd', 'b'], 'seeing a frame again makes it the newest');
    const seen = await engine.seenFrames('viewer');
    t.ok(seen.has('c') && !seen.has('a'), 'a lookup says whether a frame was seen');
    t.ok(seen.get('c')! < seen.get('d')! && seen.get('d')! < seen.get('b')!, 'and when, as an order');
    t.same(await seenIds(engine, 'nobody'), []);
  });

  t.test("a user's seen set stays within its bound however many frames they watch, and expires", async (t) => {
    const engine = await makeEngine(t);
    const scope = seenScope('binge', { genre: 'techno', mood: 'dark' });
    for (let batch = 0; batch < 5; batch += 1) {
      await Promise.all(Array.from({ length: 100 }, (_, index) => engine.markSeen(scope, `frame-${batch}-${index}`, 250, 200)));
      t.ok((await seenIds(engine, scope)).length <= 250, `after ${(batch + 1) * 100} frames at most 250 are kept`);
    }
    t.equal((await seenIds(engine, scope)).length, 250);
    t.same(await seenIds(engine, seenScope('binge', { genre: 'techno', mood: 'calm' })), [], 'another group has its own set');
    await sleep(400);
    t.same(await seenIds(engine, scope), [], 'a set nobody wrote to for its lifetime is forgotten');
  });

  t.test('the first decision stored for a request id wins', async (t) => {
    const engine = await makeEngine(t);
    const first = { v: 'first' };
    t.equal(await engine.putDecisionIfAbsent('s3', 'r1', first, 60_000), first, 'the writer that was first gets its own value back');
    const second = { v: 'second' };
    const answer = await engine.putDecisionIfAbsent('s3', 'r1', second, 60_000);
    t.not(answer, second);
    t.same(answer, first, 'a later writer gets the earlier value');
    t.same(await engine.getDecision('s3', 'r1'), first);
    t.equal(await engine.getDecision('s3', 'r2'), null);
    t.equal(await engine.getDecision('s4', 'r1'), null, 'request ids are per session');
  });

  t.test('a stored decision reads back as its JSON does, nested values and all', async (t) => {
    const engine = await makeEngine(t);
    const stored = { fingerprint: 'f', decision: { id: 'd', p: 0.25, reasons: ['a', 'b'], fallback: null }, pending: { generationId: 'g', evidence: { bandit: null } } };
    await engine.putDecisionIfAbsent('s7', 'r', stored, 60_000);
    t.same(await engine.getDecision('s7', 'r'), JSON.parse(JSON.stringify(stored)));
  });

  t.test('of many concurrent writers of one request id, exactly one wins', async (t) => {
    const engine = await makeEngine(t);
    const values = Array.from({ length: 20 }, (_, index) => ({ v: `v${index}` }));
    const results = await Promise.all(values.map((value) => engine.putDecisionIfAbsent('race', 'r', value, 60_000)));
    t.equal(values.filter((value, index) => results[index] === value).length, 1, 'one writer got its own value back');
    t.equal(new Set(results.map((result) => JSON.stringify(result))).size, 1, 'and everybody the same one');
  });

  t.test('a pending decision can be replaced by its final answer', async (t) => {
    const engine = await makeEngine(t);
    await engine.putDecisionIfAbsent('s6', 'r', { v: 'pending' }, 60_000);
    await engine.replaceDecision('s6', 'r', { v: 'final' }, 60_000);
    t.same(await engine.getDecision('s6', 'r'), { v: 'final' });
    t.same(await engine.putDecisionIfAbsent('s6', 'r', { v: 'other' }, 60_000), { v: 'final' }, 'the replacement still wins over later writers');
  });

  t.test('a decision expires after its time to live', async (t) => {
    const engine = await makeEngine(t);
    await engine.putDecisionIfAbsent('s5', 'r', { v: 'value' }, 50);
    await sleep(120);
    t.equal(await engine.getDecision('s5', 'r'), null);
    const again = { v: 'again' };
    t.equal(await engine.putDecisionIfAbsent('s5', 'r', again, 60_000), again);
  });

  t.test('counts what a user did per local day, atomically across concurrent writers', async (t) => {
    const engine = await makeEngine(t);
    await Promise.all(Array.from({ length: 20 }, (_, index) => engine.countDay('u1', '2026-11-21', { frames: 1, fresh: index % 2, credits: (index % 2) * 2 }, 60_000)));
    const after = await engine.countDay('u1', '2026-11-21', { sessions: 1 }, 60_000);
    t.same(after, { frames: 20, fresh: 10, credits: 20, sessions: 1 });
    t.same(await engine.getDays('u1', ['2026-11-20', '2026-11-21']), [{ frames: 0, fresh: 0, credits: 0, sessions: 0 }, after], 'a day without play reads as zeros');
    t.same(await engine.getDays('u2', ['2026-11-21']), [{ frames: 0, fresh: 0, credits: 0, sessions: 0 }], 'days are per user');
  });

  t.test("a user-day's counts expire after their time to live", async (t) => {
    const engine = await makeEngine(t);
    await engine.countDay('u3', '2026-11-21', { frames: 3 }, 50);
    await sleep(120);
    t.same(await engine.getDays('u3', ['2026-11-21']), [{ frames: 0, fresh: 0, credits: 0, sessions: 0 }]);
    t.same(await engine.countDay('u3', '2026-11-21', { frames: 1 }, 60_000), { frames: 1, fresh: 0, credits: 0, sessions: 0 }, 'counting starts again from zero');
  });

  t.test('keeps a short record until its time to live passes', async (t) => {
    const engine = await makeEngine(t);
    await engine.putRecord('frame:1', { user: 'ann' }, 150);
    t.same(await engine.getRecord('frame:1'), { user: 'ann' });
    t.equal(await engine.getRecord('frame:2'), null);
    await sleep(250);
    t.equal(await engine.getRecord('frame:1'), null);
  });

  t.test('a record reads back as its JSON does, and a change the writer makes afterwards does not reach it', async (t) => {
    const engine = await makeEngine(t);
    const shown = { user: 'ann', at: 1_700_000_000_000, segment: 'basic|house|euphoric', eligible: true, stock: { seenId: 'f1', genre: 'house', mood: 'euphoric' } };
    const written = JSON.parse(JSON.stringify(shown));
    await engine.putRecord('shown:9', shown, 60_000);
    // The in-process engine keeps the record frozen all the way down: the writer cannot change it.
    const change = (write: () => void) => {
      try {
        write();
      } catch {
        // refused: frozen
      }
    };
    change(() => (shown.stock.seenId = 'f2'));
    change(() => (shown.user = 'bob'));
    t.same(await engine.getRecord('shown:9'), written);
  });

  t.test('of many concurrent claims of one record, exactly one wins, and a rewrite does not undo it', async (t) => {
    const engine = await makeEngine(t);
    await engine.putRecord('shown:1', {}, 60_000);
    await engine.putRecord('shown:2', {}, 60_000);
    const results = await Promise.all(Array.from({ length: 20 }, () => engine.claimRecord('shown:1')));
    t.equal(results.filter(Boolean).length, 1);
    t.equal(await engine.claimRecord('shown:2'), true, 'another record is claimed on its own');
    await engine.putRecord('shown:1', { again: true }, 60_000);
    t.equal(await engine.claimRecord('shown:1'), false);
    t.same(await engine.getRecord('shown:1'), { again: true });
  });

  t.test('a record that is not there cannot be claimed, and a claim ends with its record', async (t) => {
    const engine = await makeEngine(t);
    t.equal(await engine.claimRecord('shown:none'), false);
    await engine.putRecord('shown:brief', {}, 100);
    t.equal(await engine.claimRecord('shown:brief'), true);
    await sleep(200);
    t.equal(await engine.claimRecord('shown:brief'), false, 'gone with its record');
    await engine.putRecord('shown:brief', {}, 60_000);
    t.equal(await engine.claimRecord('shown:brief'), true, 'a record written after the claim expired is claimed anew');
  });

  t.test('counts bandit pulls and rewards per segment and arm, atomically across concurrent writers', async (t) => {
    const engine = await makeEngine(t);
    await Promise.all(Array.from({ length: 40 }, (_, index) => engine.addArmOutcome('basic|techno|dark', index % 2 === 0 ? 'fresh' : 'library', 1, index % 4 === 0 ? 1 : 0, 10)));
    const segments = await engine.getSegments();
    t.same(segments.get('basic|techno|dark'), { fresh: { pulls: 20, rewards: 10 }, library: { pulls: 20, rewards: 0 } });
  });

  t.test('refuses a new bandit segment beyond its bound, and keeps counting the known ones', async (t) => {
    const engine = await makeEngine(t);
    t.equal(await engine.addArmOutcome('a|x|y', 'fresh', 1, 1, 2), true);
    t.equal(await engine.addArmOutcome('b|x|y', 'fresh', 1, 0, 2), true);
    t.equal(await engine.addArmOutcome('c|x|y', 'fresh', 1, 1, 2), false, 'a third segment is refused');
    t.equal(await engine.addArmOutcome('a|x|y', 'library', 1, 0, 2), true, 'a known one still counts');
    t.same([...(await engine.getSegments()).keys()].sort(), ['a|x|y', 'b|x|y']);
  });

  t.test('replacing the bandit statistics drops every segment not in the replacement', async (t) => {
    const engine = await makeEngine(t);
    await engine.addArmOutcome('old|x|y', 'fresh', 5, 2, 10);
    const rebuilt = new Map([['pro|jazz|calm', { fresh: { pulls: 7, rewards: 3 }, library: { pulls: 9, rewards: 2 } }]]);
    await engine.replaceSegments(rebuilt);
    t.same(await engine.getSegments(), rebuilt);
    await engine.replaceSegments(new Map());
    t.same(await engine.getSegments(), new Map());
  });

  t.test('answers a ping', async (t) => {
    const engine = await makeEngine(t);
    await t.resolves(engine.ping());
  });
}
