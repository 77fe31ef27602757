-- Fresh frames. One row per generation: what was asked, what it cost, where it went. The row is
-- the saga's memory: every transition is a conditional UPDATE on `state` (and `charge`), so two
-- actors racing (a worker finishing, a deadline passing, a player's beacon) can never both win.
--
-- state (the generation):
--   queued   debited (when charged) and its job enqueued, in one transaction
--   running  a worker claimed it (attempt counts claims; only the claiming attempt may finish it)
--   ready    the image is stored (frame_id); terminal
--   failed   given up (error says why); the refund was written in the same transaction; terminal
-- charge (the money):
--   none     nothing was debited (unlimited plans)
--   held     debited, outcome not final yet
--   kept     final: the user got the frame
--   refunded final: the debit was refunded (credit_refunds holds the refund entry)
CREATE TABLE generations (
  id              text PRIMARY KEY CHECK (length(id) BETWEEN 8 AND 64),
  user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  session_id      text NOT NULL CHECK (length(session_id) <= 64),
  request_id      text NOT NULL CHECK (length(request_id) <= 64),
  purpose         text NOT NULL CHECK (purpose IN ('interactive', 'congested')),
  queue           text NOT NULL CHECK (queue IN ('interactive', 'background')),
  state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'ready', 'failed')),
  charge          text NOT NULL CHECK (charge IN ('none', 'held', 'kept', 'refunded')),
  provider        text NOT NULL,
  model           text NOT NULL,
  credits         integer NOT NULL CHECK (credits >= 0),
  usd             numeric(12, 6) NOT NULL DEFAULT 0 CHECK (usd >= 0),
  ledger_id       bigint,
  prompt          text NOT NULL,
  prompt_key      text NOT NULL,
  prompt_hash     text NOT NULL,
  variant         integer NOT NULL CHECK (variant >= 0),
  genre           text NOT NULL,
  mood            text NOT NULL,
  style           text NOT NULL,
  energy          real NOT NULL CHECK (energy >= 0 AND energy <= 1),
  orientation     text NOT NULL CHECK (orientation IN ('landscape', 'portrait', 'square')),
  width           integer NOT NULL CHECK (width > 0),
  height          integer NOT NULL CHECK (height > 0),
  p               real NOT NULL CHECK (p >= 0 AND p <= 1),
  reasons         jsonb NOT NULL DEFAULT '[]',
  cache_hit       boolean NOT NULL DEFAULT false,
  attempt         integer NOT NULL DEFAULT 0,
  frame_id        text REFERENCES frames (id),
  error           text,
  -- The generation must be ready by then, or it is failed and refunded.
  deadline_at     timestamptz NOT NULL,
  -- For a held charge on a ready frame: kept if displayed long enough before then, else refunded.
  settle_by       timestamptz,
  -- The decision (frame message) that showed it, and for which `next`.
  answered_at     timestamptz,
  answer_session  text,
  answer_request  text,
  displayed_ms    integer,
  created_at      timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz,
  finished_at     timestamptz,
  CHECK ((state = 'ready') = (frame_id IS NOT NULL)),
  CHECK (charge <> 'held' OR ledger_id IS NOT NULL)
);

-- A user's frames that are ready and not shown yet (the "inbox"); tiny, so partial.
CREATE INDEX generations_inbox ON generations (user_id, finished_at) WHERE state = 'ready' AND answered_at IS NULL;
-- One generation answers one request: a retried `next` can never take a second frame.
CREATE UNIQUE INDEX generations_answer ON generations (answer_session, answer_request) WHERE answer_session IS NOT NULL;
-- Variants of a prompt being generated (so concurrent orders of one prompt draw different images).
CREATE INDEX generations_prompt ON generations (prompt_key, variant) WHERE state IN ('queued', 'running', 'ready');
-- The deadline sweep: unfinished generations and held charges.
CREATE INDEX generations_open ON generations (deadline_at) WHERE state IN ('queued', 'running');
CREATE INDEX generations_held ON generations (settle_by) WHERE charge = 'held' AND state = 'ready';
-- Recent durations, for the wait estimate.
CREATE INDEX generations_finished ON generations (finished_at DESC) WHERE state = 'ready' AND NOT cache_hit;

-- The prompt cache, shared by every user: one image per (model, size, prompt, variant).
-- `prompt_key` leaves the variant out, so all variants of a prompt are found together.
CREATE TABLE prompt_cache (
  prompt_hash   text PRIMARY KEY,
  prompt_key    text NOT NULL,
  variant       integer NOT NULL CHECK (variant >= 0),
  frame_id      text NOT NULL REFERENCES frames (id),
  model         text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (prompt_key, variant)
);
CREATE INDEX prompt_cache_unused ON prompt_cache (last_used_at);

-- Generation workers alive, for the wait estimate: each process heartbeats its slot count.
CREATE TABLE generation_workers (
  id            text PRIMARY KEY,
  slots         integer NOT NULL CHECK (slots >= 0),
  heartbeat_at  timestamptz NOT NULL DEFAULT now()
);
