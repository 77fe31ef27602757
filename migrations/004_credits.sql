-- Credits: an append-only ledger is the source of truth; snapshots are derived from it.

ALTER TABLE tiers
  ADD COLUMN annual_rollover_cap numeric(6, 2) NOT NULL DEFAULT 6 CHECK (annual_rollover_cap >= 0 AND annual_rollover_cap <= 100),
  -- Region code → multiplier of the base quota, e.g. {"IN": 0.5}.
  ADD COLUMN region_multipliers jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(region_multipliers) = 'object'),
  ADD COLUMN burst_price integer NOT NULL DEFAULT 5 CHECK (burst_price > 0);

ALTER TABLE users
  ADD COLUMN region text CHECK (region IS NULL OR region ~ '^[A-Za-z0-9_-]{1,16}$'),
  -- The day of month the user's cycles start on (1-31; short months use their last day).
  ADD COLUMN anchor_day smallint NOT NULL DEFAULT 1 CHECK (anchor_day BETWEEN 1 AND 31),
  ADD COLUMN burst_until timestamptz,
  -- Team pools use the account id 'team:<name>'; no user may take such an id.
  ADD CONSTRAINT users_id_not_team CHECK (id NOT LIKE 'team:%');

-- One row per credit account: a user's own, or a team's pool ('team:<name>'). A snapshot of the
-- ledger, kept for fast reads and checked against the ledger on every debit and by reconcile.
CREATE TABLE user_credits (
  account_id   text PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('user', 'team')),
  tz           text NOT NULL,
  anchor_day   smallint NOT NULL CHECK (anchor_day BETWEEN 1 AND 31),
  available    integer NOT NULL CHECK (available >= 0),
  -- Credits spent in the current cycle, net of refunds.
  used         integer NOT NULL DEFAULT 0 CHECK (used >= 0),
  -- Credits carried into the current cycle.
  rollover     integer NOT NULL DEFAULT 0 CHECK (rollover >= 0),
  -- The base quota already refilled for the current cycle: an upgrade refills only above it, so
  -- switching tiers back and forth within a cycle cannot mint credits.
  refilled_base integer NOT NULL DEFAULT 0 CHECK (refilled_base >= 0),
  cycle_start  timestamptz NOT NULL,
  cycle_end    timestamptz NOT NULL CHECK (cycle_end > cycle_start),
  version      bigint NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE credit_ledger_id_seq AS bigint;

-- The ledger, range-partitioned by month (partitions are created ahead by
-- ensure_credit_ledger_partitions, called at start and by a daily job).
CREATE TABLE credit_ledger (
  id             bigint NOT NULL DEFAULT nextval('credit_ledger_id_seq'),
  -- The moment of the insert (taken after the account lock, unlike now()).
  ts             timestamptz NOT NULL DEFAULT clock_timestamp(),
  account_id     text NOT NULL REFERENCES user_credits (account_id),
  -- The user whose action or membership caused the entry (null for a team pool's own cycle).
  user_id        text REFERENCES users (id),
  type           text NOT NULL CHECK (type IN ('generation', 'burst', 'refund', 'refill', 'grant', 'expire', 'rollover', 'decay', 'downgrade')),
  amount         integer NOT NULL CHECK (amount <> 0),
  balance_after  integer NOT NULL CHECK (balance_after >= 0),
  request_id     text,
  details        jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts);
ALTER SEQUENCE credit_ledger_id_seq OWNED BY credit_ledger.id;

-- Ids come from one sequence, drawn under the account's lock: within an account, id order is
-- the order in which entries were appended, so "the last entry" is the highest id.
CREATE INDEX credit_ledger_account_id ON credit_ledger (account_id, id DESC);
CREATE TABLE credit_ledger_default PARTITION OF credit_ledger DEFAULT;

-- Idempotency keys. A unique constraint on a partitioned table must include the partition key,
-- so UNIQUE (user_id, request_id) lives here, on a plain table, written in the same transaction as
-- the ledger entry: a request id is used once per user, for ever.
CREATE TABLE credit_requests (
  user_id      text NOT NULL REFERENCES users (id),
  request_id   text NOT NULL CHECK (length(request_id) BETWEEN 1 AND 160),
  kind         text NOT NULL CHECK (kind IN ('generation', 'burst', 'grant')),
  fingerprint  text NOT NULL,
  -- The ledger entry it produced; null when nothing was debited (unlimited tier).
  ledger_id    bigint,
  outcome      jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, request_id)
);

-- At most one refund per debit, enforced by the primary key.
CREATE TABLE credit_refunds (
  debit_id    bigint PRIMARY KEY,
  refund_id   bigint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every closed cycle, once: the primary key makes closing a cycle twice impossible.
CREATE TABLE credit_cycles (
  account_id   text NOT NULL REFERENCES user_credits (account_id),
  cycle_start  timestamptz NOT NULL,
  cycle_end    timestamptz NOT NULL,
  unused       integer NOT NULL,
  carried      integer NOT NULL,
  decay        integer NOT NULL,
  rollover     integer NOT NULL,
  refill       integer NOT NULL,
  -- The last ledger entry of the close: entries with a higher id belong to the next cycle.
  last_entry_id bigint NOT NULL,
  closed_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, cycle_start)
);

-- Creates the monthly partitions from last month to `months_ahead` months ahead. A month that
-- cannot be created (rows for it already sit in the default partition) is reported and skipped;
-- the others are still created. Concurrent callers are serialised by an advisory lock.
CREATE FUNCTION ensure_credit_ledger_partitions(months_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  month_start date := date_trunc('month', now() AT TIME ZONE 'UTC')::date - interval '1 month';
  created integer := 0;
  name text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('credit_ledger_partitions', 0));
  FOR step IN 0 .. months_ahead + 1 LOOP
    name := format('credit_ledger_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
    IF to_regclass(name) IS NULL THEN
      BEGIN
        EXECUTE format('CREATE TABLE %I PARTITION OF credit_ledger FOR VALUES FROM (%L) TO (%L)',
          name, (month_start::timestamp AT TIME ZONE 'UTC'), ((month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
        created := created + 1;
      EXCEPTION WHEN others THEN
        RAISE WARNING 'ledger partition % not created: %', name, SQLERRM;
      END;
    END IF;
    month_start := month_start + interval '1 month';
  END LOOP;
  RETURN created;
END $$;

SELECT ensure_credit_ledger_partitions(3);

-- Members of team pools: joining adds the member's base quota to the pool once.
CREATE TABLE credit_pool_members (
  user_id     text PRIMARY KEY REFERENCES users (id),
  account_id  text NOT NULL REFERENCES user_credits (account_id),
  joined_at   timestamptz NOT NULL DEFAULT now()
);
