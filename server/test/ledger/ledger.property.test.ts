/**
 * Random sequences of grants, debits (with retried ids), refunds, tier changes and cycle ends,
 * run against the real ledger, keep its invariants: no balance below zero, the snapshot equal to
 * the ledger's sum and running balance, every rollover within its cap, decay as specified.
 */
import fc from 'fast-check';
import t from 'tap';
import { days, ledgerFixture } from '../support/ledger.js';

type Operation =
  | { kind: 'grant'; amount: number }
  | { kind: 'debit'; amount: number; id: number }
  | { kind: 'refund'; pick: number }
  | { kind: 'tier'; tier: 'tiny' | 'small' | 'large' }
  | { kind: 'cycle'; days: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant('grant' as const), amount: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ kind: fc.constant('debit' as const), amount: fc.integer({ min: 1, max: 60 }), id: fc.integer({ min: 0, max: 15 }) }),
  fc.record({ kind: fc.constant('refund' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('tier' as const), tier: fc.constantFrom('tiny' as const, 'small' as const, 'large' as const) }),
  fc.record({ kind: fc.constant('cycle' as const), days: fc.integer({ min: 1, max: 45 }) }),
);

t.test('random credit histories keep every invariant (property)', async (t) => {
  const f = await ledgerFixture(t, '2026-01-10T08:00:00Z');
  await f.tier('tiny', { baseQuota: 30, rolloverCap: 2 });
  await f.tier('small', { baseQuota: 100 });
  await f.tier('large', { baseQuota: 400, rolloverCap: 4 });
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 25 }), fc.boolean(), async (operations, annual) => {
      run += 1;
      const userId = `prop-${run}`;
      await f.user(userId, 'small', { annual });
      const debits: string[] = [];
      const amountsById = new Map<number, number>();
      for (const step of operations) {
        if (step.kind === 'grant') await f.ledger.grant(userId, step.amount, `g${debits.length}-${step.amount}-${Math.random()}`, null);
        if (step.kind === 'debit') {
          const result = await f.ledger.debit({ userId, kind: 'generation', requestId: String(step.id), amount: step.amount });
          const earlier = amountsById.get(step.id);
          if (result.status === 'mismatch' && earlier === step.amount) throw new Error('a retry with the same amount was refused');
          if (result.status === 'debited' && earlier !== undefined && earlier !== step.amount) throw new Error('a retry with another amount was accepted');
          if (result.status === 'debited' && !result.replayed) {
            amountsById.set(step.id, step.amount);
            debits.push(result.ledgerId!);
          }
        }
        if (step.kind === 'refund' && debits.length > 0) await f.ledger.refund(debits[step.pick % debits.length]!, 'property');
        if (step.kind === 'tier') await f.ledger.changeTier(userId, step.tier);
        if (step.kind === 'cycle') {
          f.clock.nowMs += days(step.days);
          await f.ledger.runCycles(f.clock.nowMs);
        }
        const balance = await f.balance(userId);
        if (balance.sum !== balance.snapshot || balance.last !== balance.sum) throw new Error(`snapshot ${balance.snapshot}, ledger sum ${balance.sum}, last ${balance.last}`);
      }
      const negative = await f.pool.query(`SELECT 1 FROM credit_ledger WHERE account_id = $1 AND balance_after < 0`, [userId]);
      if (negative.rowCount !== 0) throw new Error('a balance went below zero');
      const cycles = await f.pool.query<{ unused: number; carried: number; decay: number; rollover: number; refill: number }>(
        `SELECT unused, carried, decay, rollover, refill FROM credit_cycles WHERE account_id = $1`,
        [userId],
      );
      for (const cycle of cycles.rows) {
        const capMultiple = annual ? 6 : 4; // the largest cap multiple among the tiers (annual users: 6)
        if (cycle.carried > cycle.unused || cycle.carried > capMultiple * cycle.refill) throw new Error(`carried ${cycle.carried} above its cap`);
        if (cycle.decay !== Math.floor(0.1 * Math.max(0, cycle.carried - 2 * cycle.refill))) throw new Error(`decay ${cycle.decay} is not as specified`);
        if (cycle.rollover !== cycle.carried - cycle.decay) throw new Error('rollover is not carried minus decay');
      }
      const refunds = await f.pool.query(`SELECT debit_id FROM credit_refunds GROUP BY debit_id HAVING count(*) > 1`);
      if (refunds.rowCount !== 0) throw new Error('a debit was refunded twice');
    }),
    { numRuns: 40 },
  );
  t.pass('40 random histories kept every invariant');
});
