/**
 * What must hold after every run, whatever the load: every request answered (the generator's
 * count), the ledger equal to the snapshots for every user the run touched, no negative balance,
 * and every generation debit matched by a delivered frame or a refund.
 *
 * Held charges settle on their own (a generation finishes or fails by its deadline; a ready frame
 * nobody waits for is refunded after the inbox hold), so the check first waits until none of the
 * run's generations is open, then reads PostgreSQL directly and asks the server to reconcile.
 */
import pg from 'pg';

export type Correctness = {
  unanswered: number;
  ledgerConsistent: boolean;
  negativeBalances: number;
  unmatchedDebits: number;
  /** Accounts whose snapshot differed from the sum of their ledger entries. */
  driftedAccounts: number;
  /** What `POST /v1/admin/reconcile` found. */
  reconcileDrifted: number;
  debits: number;
  refunds: number;
  delivered: number;
  /** Generations still queued, running or held when the check stopped waiting. */
  stillOpen: number;
};

export async function checkCorrectness(options: {
  databaseUrl: string;
  userPrefix: string;
  unanswered: number;
  admin: (method: string, route: string, body?: unknown) => Promise<unknown>;
  settleTimeoutMs: number;
}): Promise<Correctness> {
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    const like = `${options.userPrefix}%`;
    const stillOpen = await untilQuiet(client, options.userPrefix, options.settleTimeoutMs);
    const drifted = await client.query<{ account: string }>(
      `SELECT c.account_id AS account FROM user_credits c
        WHERE c.account_id LIKE $1
          AND c.available <> (SELECT coalesce(sum(l.amount), 0) FROM credit_ledger l WHERE l.account_id = c.account_id)`,
      [like],
    );
    const negative = await client.query<{ count: string }>(
      `SELECT (SELECT count(*) FROM user_credits WHERE account_id LIKE $1 AND available < 0)
            + (SELECT count(*) FROM credit_ledger WHERE account_id LIKE $1 AND balance_after < 0) AS count`,
      [like],
    );
    const debits = await client.query<{ debits: string; refunded: string; delivered: string; unmatched: string }>(
      `SELECT count(*) AS debits,
              count(*) FILTER (WHERE r.debit_id IS NOT NULL) AS refunded,
              count(*) FILTER (WHERE r.debit_id IS NULL AND g.answered_at IS NOT NULL AND g.state = 'ready') AS delivered,
              count(*) FILTER (WHERE r.debit_id IS NULL AND (g.id IS NULL OR g.answered_at IS NULL OR g.state <> 'ready')) AS unmatched
         FROM credit_ledger l
         LEFT JOIN credit_refunds r ON r.debit_id = l.id
         LEFT JOIN generations g ON g.ledger_id = l.id
        WHERE l.type = 'generation' AND l.user_id LIKE $1`,
      [like],
    );
    const reconcile = (await options.admin('POST', '/v1/admin/reconcile', {})) as { drifted: unknown[] };
    const row = debits.rows[0]!;
    const driftedAccounts = drifted.rows.length;
    return {
      unanswered: options.unanswered,
      ledgerConsistent: driftedAccounts === 0 && reconcile.drifted.length === 0,
      negativeBalances: Number(negative.rows[0]!.count),
      unmatchedDebits: Number(row.unmatched),
      driftedAccounts,
      reconcileDrifted: reconcile.drifted.length,
      debits: Number(row.debits),
      refunds: Number(row.refunded),
      delivered: Number(row.delivered),
      stillOpen,
    };
  } finally {
    await client.end();
  }
}

/**
 * Waits until none of the generations of users whose id starts with `userPrefix` is queued,
 * running or held unanswered, or `timeoutMs` has passed; returns how many are still open.
 */
export async function untilQuiet(client: pg.ClientBase, userPrefix: string, timeoutMs: number): Promise<number> {
  const open = async () =>
    Number(
      (
        await client.query<{ open: string }>(
          `SELECT count(*) AS open FROM generations WHERE user_id LIKE $1 AND (state IN ('queued', 'running') OR (charge = 'held' AND answered_at IS NULL))`,
          [`${userPrefix}%`],
        )
      ).rows[0]!.open,
    );
  const deadline = Date.now() + timeoutMs;
  let stillOpen = await open();
  while (stillOpen > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    stillOpen = await open();
  }
  return stillOpen;
}

export function mergeCorrectness(parts: Correctness[]): Correctness {
  const sum = (pick: (part: Correctness) => number) => parts.reduce((total, part) => total + pick(part), 0);
  return {
    unanswered: sum((part) => part.unanswered),
    ledgerConsistent: parts.every((part) => part.ledgerConsistent),
    negativeBalances: sum((part) => part.negativeBalances),
    unmatchedDebits: sum((part) => part.unmatchedDebits),
    driftedAccounts: sum((part) => part.driftedAccounts),
    reconcileDrifted: sum((part) => part.reconcileDrifted),
    debits: sum((part) => part.debits),
    refunds: sum((part) => part.refunds),
    delivered: sum((part) => part.delivered),
    stillOpen: sum((part) => part.stillOpen),
  };
}
