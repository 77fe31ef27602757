-- The pantry grows up: what ingestion learns about each image, background generations that fill
-- thin buckets (owned by nobody, charged to nobody), and the coverage misses that rank them.

-- {palette: [{r, g, b, share}], safeArea: {x, y, width, height}, focus: {x, y}} in fractions of
-- the image; null for frames stored before analysis existed (treated as "keep the whole image").
ALTER TABLE frames ADD COLUMN analysis jsonb;

-- Pantry fills are generations too (same queue, worker, provider, deadline), with purpose
-- 'pantry', no user and no charge: their image joins the library instead of answering a player.
ALTER TABLE generations ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE generations DROP CONSTRAINT generations_purpose_check;
ALTER TABLE generations ADD CONSTRAINT generations_purpose_check CHECK (purpose IN ('interactive', 'congested', 'pantry'));
ALTER TABLE generations ADD CONSTRAINT generations_pantry_owner CHECK ((purpose = 'pantry') = (user_id IS NULL));
ALTER TABLE generations ADD CONSTRAINT generations_pantry_free CHECK (purpose <> 'pantry' OR charge = 'none');
-- Open fills per bucket (at most a few may be under way for one bucket) and today's fill spend.
CREATE INDEX generations_pantry_open ON generations (genre, mood, orientation) WHERE purpose = 'pantry' AND state IN ('queued', 'running');
CREATE INDEX generations_pantry_created ON generations (created_at) WHERE purpose = 'pantry';

-- Coverage misses per bucket and hour, written in batches by every node; the fill job ranks
-- buckets by the misses of the last day. Old hours are deleted by the same job.
CREATE TABLE pantry_misses (
  genre        text NOT NULL CHECK (length(genre) BETWEEN 1 AND 64),
  mood         text NOT NULL CHECK (length(mood) BETWEEN 1 AND 64),
  orientation  text NOT NULL CHECK (orientation IN ('landscape', 'portrait', 'square')),
  hour         timestamptz NOT NULL,
  misses       integer NOT NULL CHECK (misses > 0),
  PRIMARY KEY (genre, mood, orientation, hour)
);
CREATE INDEX pantry_misses_hour ON pantry_misses (hour);
