-- The decision journal: every frame decision (fresh or library) with what the policy saw and why
-- it chose, for offline evaluation and, later, a bandit's training data. It is evidence, not
-- money: the server writes it in batches off the hot path and drops rows rather than slow the
-- show (server/src/decision/journal.ts), and nothing reads it to serve a frame.
--
-- Partitioned by UTC day, so that retention drops whole days (no DELETE, no bloat). Day partitions
-- are created ahead by ensure_decision_partitions, at start and by a daily job, and dropped by
-- drop_decision_partitions. The DEFAULT partition is a safety net for a row whose day has no
-- partition (the job did not run, a clock far off). Rows that land there stay there: PostgreSQL
-- refuses to create a day's partition while the default holds rows of that day, so that day is
-- skipped (with a warning) and its later rows keep going to the default, which is never dropped.
-- Should that happen, move the rows out by hand (detach the default, create the day, re-insert).
CREATE TABLE decisions (
  -- When the server made the decision (its clock, not the insert's).
  ts           timestamptz NOT NULL,
  id           text NOT NULL,
  user_id      text NOT NULL,
  session_id   text NOT NULL,
  request_id   text NOT NULL,
  -- The policy that set p, and the user's tier at the time.
  policy       text NOT NULL,
  tier         text NOT NULL,
  -- The probability of fresh the policy gave: the propensity offline evaluation weighs by.
  p            double precision NOT NULL CHECK (p >= 0 AND p <= 1),
  source       text NOT NULL CHECK (source IN ('fresh', 'library')),
  fallback     text NOT NULL,
  charged      integer NOT NULL CHECK (charged >= 0),
  genre        text,
  mood         text,
  energy       double precision,
  orientation  text NOT NULL,
  -- The controller's contribution of each factor to p: {"budget": -0.12, ...}.
  factors      jsonb NOT NULL CHECK (jsonb_typeof(factors) = 'object'),
  reasons      jsonb NOT NULL CHECK (jsonb_typeof(reasons) = 'array'),
  -- The credit forecast the decision was made under, when there was one.
  forecast     jsonb CHECK (forecast IS NULL OR jsonb_typeof(forecast) = 'object'),
  -- A unique key on a partitioned table must include the partition key. It makes a retried batch
  -- harmless: one that committed but whose answer was lost adds nothing the second time.
  PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts);

CREATE INDEX decisions_user ON decisions (user_id, ts);
CREATE TABLE decisions_default PARTITION OF decisions DEFAULT;

-- Creates the day partitions decisions_dYYYYMMDD from today (UTC) to `days_ahead` days ahead and
-- returns how many were new. A day whose rows already sit in the default partition cannot be
-- created: it is reported and skipped, the other days are still created. Concurrent callers are
-- serialised by an advisory lock.
CREATE FUNCTION ensure_decision_partitions(days_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  day_start date := (now() AT TIME ZONE 'UTC')::date;
  created integer := 0;
  name text;
BEGIN
  -- A bound on the loop: a year of partitions ahead is already a mistake.
  IF days_ahead IS NULL OR days_ahead NOT BETWEEN 0 AND 366 THEN
    RAISE EXCEPTION 'days_ahead must be within 0..366, not %', days_ahead;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('decision_partitions', 0));
  FOR step IN 0 .. days_ahead LOOP
    name := 'decisions_d' || to_char(day_start, 'YYYYMMDD');
    IF to_regclass(name) IS NULL THEN
      BEGIN
        EXECUTE format('CREATE TABLE %I PARTITION OF decisions FOR VALUES FROM (%L) TO (%L)',
          name, (day_start::timestamp AT TIME ZONE 'UTC'), ((day_start + 1)::timestamp AT TIME ZONE 'UTC'));
        created := created + 1;
      -- The default partition holds rows of this day (any other error is not ours to swallow).
      EXCEPTION WHEN check_violation THEN
        RAISE WARNING 'decision partition % not created: %', name, SQLERRM;
      END;
    END IF;
    day_start := day_start + 1;
  END LOOP;
  RETURN created;
END $$;

-- Drops the day partitions that end at or before now - `keep_days` days and returns how many it
-- dropped. Only partitions named like ensure_decision_partitions names them are considered, so
-- the default partition is never dropped. At least one day is kept, so a wrong argument cannot
-- drop today's partition.
CREATE FUNCTION drop_decision_partitions(keep_days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  cutoff timestamptz := now() - make_interval(days => keep_days);
  dropped integer := 0;
  child record;
BEGIN
  IF keep_days IS NULL OR keep_days < 1 THEN
    RAISE EXCEPTION 'keep_days must be at least 1, not %', keep_days;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('decision_partitions', 0));
  FOR child IN
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'decisions'::regclass AND c.relname ~ '^decisions_d[0-9]{8}$'
    ORDER BY c.relname
  LOOP
    IF (to_date(substr(child.name, 12), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= cutoff THEN
      EXECUTE format('DROP TABLE %I', child.name);
      dropped := dropped + 1;
    END IF;
  END LOOP;
  RETURN dropped;
END $$;

SELECT ensure_decision_partitions(3);
