-- The bandit and offline evaluation: every decision records the propensity of what it showed and
-- the bandit's part in it, and every counted beacon becomes a reward joined to its decision.

-- The probability of fresh in `p` is after clamps, hysteresis, caps and the bandit. `propensity`
-- is the probability of the arm that was chosen (p for fresh, 1 − p for library), so
-- inverse-propensity weights need no recomputation. `segment` is tier|genre|mood with genre and
-- mood mapped to their library group (a bounded set). `bandit` holds the rollout mode, the
-- algorithm, the arm it leaned to, its multiplier and whether it explored; `eligible` is false
-- when a mode or constraint set p (unlimited, burst, forced, no credits, caps): no policy can
-- change those decisions, and evaluation keeps their logged p. Rows written before this
-- migration have nulls and are skipped by evaluation.
ALTER TABLE decisions ADD COLUMN propensity double precision CHECK (propensity IS NULL OR (propensity >= 0 AND propensity <= 1));
ALTER TABLE decisions ADD COLUMN segment text;
ALTER TABLE decisions ADD COLUMN bandit jsonb CHECK (bandit IS NULL OR jsonb_typeof(bandit) = 'object');
ALTER TABLE decisions ADD COLUMN eligible boolean;

-- One reward per decision: the first counted beacon for it (later ones are refused as duplicates).
-- `decided_at` is the decision's `ts`, so the join to the partitioned journal uses its key.
-- Offline frames (shown from the player's stock without a connection) were never decided by a
-- policy: they are recorded for the show's history and skipped by the bandit and evaluation.
CREATE TABLE decision_rewards (
  decision_id  text PRIMARY KEY,
  decided_at   timestamptz NOT NULL,
  rewarded_at  timestamptz NOT NULL,
  user_id      text NOT NULL,
  segment      text NOT NULL,
  source       text NOT NULL CHECK (source IN ('fresh', 'library')),
  reward       smallint NOT NULL CHECK (reward IN (0, 1)),
  dwell_ms     integer NOT NULL CHECK (dwell_ms >= 0),
  liked        boolean NOT NULL,
  skipped      boolean NOT NULL,
  offline      boolean NOT NULL
);
CREATE INDEX decision_rewards_decided ON decision_rewards (decided_at);
