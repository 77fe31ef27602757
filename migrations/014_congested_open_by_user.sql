-- A congested decision asks how many background frames the user already has on their way or
-- waiting to be shown (GenerationStore.openCongested), to hold them to a few. Without an index of
-- its own that count walked every open generation of every user (generations_open), so each
-- decision cost more as the backlog grew, which is exactly when decisions come congested: 0.5 ms
-- a count at ~1,000 open generations, the largest share of PostgreSQL's time in a DJ run of 720
-- sessions with a remote model. This partial index holds only those rows, by user, and its
-- predicate is the count's own.
CREATE INDEX generations_congested_open ON generations (user_id)
  WHERE purpose = 'congested' AND (state IN ('queued', 'running') OR (state = 'ready' AND answered_at IS NULL AND charge = 'held'));
