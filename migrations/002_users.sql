-- Users: who holds credits. Ids come from the operator's own user system.
CREATE TABLE users (
  id          text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
  tier        text NOT NULL REFERENCES tiers (name) ON UPDATE CASCADE,
  tz          text NOT NULL DEFAULT 'UTC' CHECK (length(tz) BETWEEN 1 AND 64),
  annual      boolean NOT NULL DEFAULT false,
  team        text CHECK (team IS NULL OR length(team) BETWEEN 1 AND 128),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX users_tier ON users (tier);
CREATE INDEX users_team ON users (team) WHERE team IS NOT NULL;
