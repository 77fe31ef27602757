-- Tiers: what a plan gives its users each cycle.
CREATE TABLE tiers (
  name          text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  base_quota    integer NOT NULL CHECK (base_quota >= 0),
  -- How many base quotas may roll over into the next cycle (x base_quota).
  rollover_cap  numeric(6, 2) NOT NULL DEFAULT 3 CHECK (rollover_cap >= 0 AND rollover_cap <= 100),
  unlimited     boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
