import fc from 'fast-check';
import t from 'tap';
import { accountTerms, baseQuotaOf, closeCycle, downgradeClamp, fingerprint, joiningRefill, rolloverCapOf, type TierTerms } from '../../src/ledger/arithmetic.js';
import { limits } from '../../src/limits.js';

const basic: TierTerms = { baseQuota: 200, rolloverCap: 3, annualRolloverCap: 6, regionMultipliers: { IN: 0.5, CH: 1.25 }, unlimited: false };

t.test('the worked example: 700 unused on a 200 quota', async (t) => {
  const close = closeCycle(700, 200, 600);
  t.match(close, { unused: 700, carried: 600, decay: 20, rollover: 580, refill: 200, opening: 780 });
  t.same(close.entries, [
    { type: 'expire', amount: -700 },
    { type: 'rollover', amount: 600 },
    { type: 'decay', amount: -20 },
    { type: 'refill', amount: 200 },
  ]);
});

t.test('nothing decays below twice the base quota, and nothing unused means no expiry entry', async (t) => {
  t.match(closeCycle(350, 200, 600), { carried: 350, decay: 0, rollover: 350, opening: 550 });
  t.same(closeCycle(0, 200, 600).entries, [{ type: 'refill', amount: 200 }]);
});

t.test('cycle closes keep every entry non-zero, sum to the opening balance, and obey cap and decay (property)', async (t) => {
  fc.assert(
    fc.property(fc.nat(100_000), fc.nat(5_000), fc.nat(6), (unused, base, multiple) => {
      const cap = multiple * base;
      const close = closeCycle(unused, base, cap);
      const sum = close.entries.reduce((total, entry) => total + entry.amount, unused);
      return (
        close.entries.every((entry) => entry.amount !== 0 && Number.isInteger(entry.amount)) &&
        sum === close.opening &&
        close.rollover <= cap &&
        close.rollover >= 0 &&
        close.decay === Math.floor(0.1 * Math.max(0, close.carried - 2 * base)) &&
        close.carried === Math.min(unused, cap)
      );
    }),
  );
  t.pass('property held');
});

t.test('region multipliers scale the base quota, floored; unknown regions pay the base', async (t) => {
  t.equal(baseQuotaOf({ tier: basic, region: 'IN', annual: false }), 100);
  t.equal(baseQuotaOf({ tier: basic, region: 'CH', annual: false }), 250);
  t.equal(baseQuotaOf({ tier: basic, region: 'FR', annual: false }), 200);
  t.equal(baseQuotaOf({ tier: basic, region: null, annual: false }), 200);
  for (const region of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    t.equal(baseQuotaOf({ tier: basic, region, annual: false }), 200, `a region named ${region} has no multiplier of its own`);
  }
});

t.test('annual users may roll over six base quotas, others three', async (t) => {
  t.equal(rolloverCapOf({ tier: basic, region: null, annual: false }), 600);
  t.equal(rolloverCapOf({ tier: basic, region: null, annual: true }), 1200);
});

t.test('a team pool sums its members', async (t) => {
  const terms = accountTerms([
    { tier: basic, region: null, annual: false },
    { tier: { ...basic, baseQuota: 600 }, region: null, annual: true },
  ]);
  t.same(terms, { base: 800, cap: 600 + 3600 });
  t.same(accountTerms([{ tier: { ...basic, unlimited: true }, region: null, annual: false }]), { base: 0, cap: 0 });
});

t.test("a pool's terms are held to the account's quota and the balance bound, so an opening balance fits 32 bits", async (t) => {
  const giant = { tier: { ...basic, baseQuota: limits.creditQuotaPerMemberMax }, region: null, annual: true };
  const terms = accountTerms(Array.from({ length: 300 }, () => giant));
  t.same(terms, { base: limits.creditQuotaPerAccountMax, cap: limits.creditBalanceMax });
  t.ok(closeCycle(limits.creditBalanceMax, terms.base, terms.cap).opening <= 2 ** 31 - 1);
  t.equal(joiningRefill(10, 0), 10, 'a member joining adds their quota');
  t.equal(joiningRefill(limits.creditQuotaPerMemberMax, limits.creditQuotaPerAccountMax - 5), 5, 'up to the account quota');
  t.equal(joiningRefill(10, limits.creditQuotaPerAccountMax), 0, 'and nothing past it');
});

t.test('a downgrade removes only the rollover above the new cap, never more than is there', async (t) => {
  t.equal(downgradeClamp(900, 1000, 600), 300);
  t.equal(downgradeClamp(500, 1000, 600), 0);
  t.equal(downgradeClamp(900, 100, 0), 100);
});

t.test('fingerprints ignore parameter order and change with any value', async (t) => {
  t.equal(fingerprint('burst', { amount: 5, minutes: 15 }), fingerprint('burst', { minutes: 15, amount: 5 }));
  t.not(fingerprint('burst', { amount: 5 }), fingerprint('burst', { amount: 6 }));
  t.not(fingerprint('burst', { amount: 5 }), fingerprint('generation', { amount: 5 }));
});

t.test('decimal multipliers do not lose a credit to floating point', async (t) => {
  t.equal(baseQuotaOf({ tier: { ...basic, regionMultipliers: { X: 1.15 } }, region: 'X', annual: false }), 230);
  t.equal(rolloverCapOf({ tier: { ...basic, baseQuota: 100, rolloverCap: 2.3 }, region: null, annual: false }), 230);
});
