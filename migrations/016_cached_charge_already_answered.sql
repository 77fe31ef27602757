-- The same `next` can reach the server on two sockets of one session (a player that reconnected
-- while its old socket was still open). When one copy was answered from the user's inbox and the
-- other was a prompt-cache hit, the hit's generation row broke the unique answer index
-- (generations_answer) and rolled back the whole batch of charge_cached_frames: nothing was lost
-- (every hit then took the ordinary path), but one client could slow every other user's cached
-- charges. Such a hit is now found before anything of it is written and answered 'answered'; the
-- server then hands the request the frame that answers it. Nothing else differs from 013. A copy
-- answered by a transaction that commits while this batch runs can still break the batch, as
-- before: the inbox's take does not hold the account's lock this batch holds.
CREATE OR REPLACE FUNCTION charge_cached_frames(p_items jsonb, p_now timestamptz)
RETURNS TABLE (item integer, status text, ledger_id bigint, charged integer, balance_after integer, available integer, outcome jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  -- Every item, in batch order (item i at position i + 1).
  v_index integer[];
  v_user text[];
  v_request text[];
  v_amount integer[];
  v_fingerprint text[];
  v_account text[];
  v_team text[];
  v_unlimited boolean[];
  v_shared boolean[];
  -- Whether another generation already answers the item's (session, request): see below.
  v_taken boolean[];
  -- The items decided together: their verdicts and what the verdicts need.
  v_s_index integer[];
  v_s_verdict text[];
  v_s_available integer[];
  v_s_prior_ledger bigint[];
  v_s_prior_outcome jsonb[];
  -- Their debits as written, and the requests they and the unlimited items open.
  v_d_index integer[];
  v_d_ledger bigint[];
  v_d_balance integer[];
  v_n_index integer[];
  v_n_ledger bigint[];
  v_n_outcome jsonb[];
  -- The items of shared accounts, answered by credit_debit one at a time.
  v_position integer;
  v_row record;
  v_l_index integer[] := '{}';
  v_l_status text[] := '{}';
  v_l_ledger bigint[] := '{}';
  v_l_charged integer[] := '{}';
  v_l_balance integer[] := '{}';
  v_l_available integer[] := '{}';
  v_l_outcome jsonb[] := '{}';
  v_ld_index integer[] := '{}';
  v_ld_ledger bigint[] := '{}';
  v_ld_outcome jsonb[] := '{}';
BEGIN
  IF p_items IS NULL OR jsonb_typeof(p_items) <> 'array' THEN
    RAISE EXCEPTION 'charge_cached_frames needs a JSON array of items';
  END IF;
  IF jsonb_array_length(p_items) = 0 THEN
    RETURN;
  END IF;
  IF p_now IS NULL THEN
    RAISE EXCEPTION 'charge_cached_frames needs a time';
  END IF;
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_items) e(x)
              WHERE e.x ->> 'user' IS NULL OR e.x ->> 'request' IS NULL OR e.x ->> 'fingerprint' IS NULL
                 OR (e.x ->> 'amount')::integer IS NULL OR (e.x ->> 'amount')::integer <= 0) THEN
    RAISE EXCEPTION 'each cached charge needs a user, a request id, a fingerprint and a positive amount';
  END IF;

  -- Who pays for each item. A user not found (or whose tier is gone) has no account; an account
  -- is shared when more than one item of the batch is paid from it.
  SELECT array_agg(o.idx ORDER BY o.idx), array_agg(o.usr ORDER BY o.idx), array_agg(o.req ORDER BY o.idx),
         array_agg(o.amount ORDER BY o.idx), array_agg(o.fp ORDER BY o.idx), array_agg(o.account ORDER BY o.idx),
         array_agg(o.team ORDER BY o.idx), array_agg(o.shared ORDER BY o.idx)
    INTO v_index, v_user, v_request, v_amount, v_fingerprint, v_account, v_team, v_shared
    FROM (
      SELECT i.*, i.account IS NOT NULL AND count(*) OVER (PARTITION BY i.account) > 1 AS shared
        FROM (
          SELECT (e.ord - 1)::integer AS idx, e.x ->> 'user' AS usr, e.x ->> 'request' AS req, (e.x ->> 'amount')::integer AS amount,
                 e.x ->> 'fingerprint' AS fp, u.team,
                 CASE WHEN t.name IS NULL THEN NULL WHEN u.team IS NULL THEN u.id ELSE 'team:' || u.team END AS account
            FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(x, ord)
            LEFT JOIN (users u JOIN tiers t ON t.name = u.tier) ON u.id = e.x ->> 'user'
        ) i
    ) o;

  -- Every account's lock, in one order (account ids by byte), before anything is read: two
  -- batches never wait for each other's locks in opposite orders, and the ordinary path holds one
  -- account at a time.
  PERFORM pg_advisory_xact_lock(hashtextextended('credit:' || a.account, 0))
    FROM (SELECT DISTINCT x.account COLLATE "C" AS account FROM unnest(v_account) AS x(account) WHERE x.account IS NOT NULL ORDER BY 1) a;

  -- Whether each item's user has an unlimited tier, read under the locks: a move to another tier
  -- holds the account's lock, so none can be under way now.
  SELECT array_agg(coalesce(t.unlimited, false) ORDER BY x.idx) INTO v_unlimited
    FROM unnest(v_index, v_user) AS x(idx, usr)
    LEFT JOIN (users u JOIN tiers t ON t.name = u.tier) ON u.id = x.usr;

  -- The snapshots of the accounts decided together, locked as credit_debit locks its one.
  PERFORM 1 FROM user_credits c
    WHERE c.account_id IN (SELECT x.account FROM unnest(v_account, v_shared, v_unlimited) AS x(account, shared, unlimited)
                            WHERE x.account IS NOT NULL AND NOT x.shared AND NOT x.unlimited)
    ORDER BY c.account_id COLLATE "C"
    FOR UPDATE;

  -- An item whose (session, request) another generation already answers, or an earlier item of
  -- the batch claims for another debit: the request was answered elsewhere (the same `next` on
  -- another socket of the session, answered from the inbox). Its generation row would break the
  -- unique answer index and with it the whole batch, so it is decided before anything of it is
  -- written and answered 'answered'. An item whose own debit is on record is not one: a replay
  -- stays a replay and a mismatch a mismatch, however the item is decided below. 'answered' does
  -- not promise that a row answers the request (the earlier item of the batch may write nothing);
  -- the server then takes the ordinary path.
  SELECT array_agg(
           (EXISTS (SELECT 1 FROM generations g
                     WHERE g.answer_session = p_items -> x.idx -> 'generation' ->> 'sessionId'
                       AND g.answer_request = p_items -> x.idx -> 'generation' ->> 'requestId')
            OR EXISTS (SELECT 1 FROM unnest(v_index, v_user, v_request) AS e(idx, usr, req)
                        WHERE e.idx < x.idx AND (e.usr, e.req) IS DISTINCT FROM (x.usr, x.req)
                          AND p_items -> e.idx -> 'generation' ->> 'sessionId' = p_items -> x.idx -> 'generation' ->> 'sessionId'
                          AND p_items -> e.idx -> 'generation' ->> 'requestId' = p_items -> x.idx -> 'generation' ->> 'requestId'))
           AND NOT EXISTS (SELECT 1 FROM credit_requests r WHERE r.user_id = x.usr AND r.request_id = x.req)
           ORDER BY x.idx)
    INTO v_taken
    FROM unnest(v_index, v_user, v_request) AS x(idx, usr, req);

  -- Items on accounts that appear once: decided together, under the locks above, each as
  -- credit_debit would decide it.
  SELECT array_agg(d.idx ORDER BY d.idx), array_agg(d.verdict ORDER BY d.idx), array_agg(d.available ORDER BY d.idx),
         array_agg(d.prior_ledger ORDER BY d.idx), array_agg(d.prior_outcome ORDER BY d.idx)
    INTO v_s_index, v_s_verdict, v_s_available, v_s_prior_ledger, v_s_prior_outcome
    FROM (
      SELECT x.idx, c.available, r.ledger_id AS prior_ledger, r.outcome AS prior_outcome,
             CASE
               WHEN x.account IS NULL THEN 'unknown_user'
               WHEN r.user_id IS NOT NULL AND r.fingerprint <> x.fp THEN 'mismatch'
               WHEN r.user_id IS NOT NULL THEN 'replayed'
               WHEN x.taken THEN 'answered'
               WHEN x.unlimited THEN 'unlimited'
               WHEN c.account_id IS NULL OR c.cycle_end <= p_now
                 OR (x.team IS NOT NULL AND NOT EXISTS (SELECT 1 FROM credit_pool_members m WHERE m.user_id = x.usr AND m.account_id = x.account)) THEN 'prepare'
               -- An account with a quota has an entry since its cycle started (the refill); the
               -- unrestricted lookup covers the rest, as in credit_debit.
               WHEN coalesce(
                      (SELECT l.balance_after FROM credit_ledger l WHERE l.account_id = x.account AND l.ts >= c.cycle_start ORDER BY l.id DESC LIMIT 1),
                      (SELECT l.balance_after FROM credit_ledger l WHERE l.account_id = x.account ORDER BY l.id DESC LIMIT 1),
                      0) <> c.available THEN 'prepare'
               WHEN c.available < x.amount THEN 'insufficient'
               ELSE 'debit'
             END AS verdict
        FROM unnest(v_index, v_user, v_request, v_amount, v_fingerprint, v_account, v_team, v_unlimited, v_shared, v_taken)
               AS x(idx, usr, req, amount, fp, account, team, unlimited, shared, taken)
        LEFT JOIN credit_requests r ON r.user_id = x.usr AND r.request_id = x.req
        LEFT JOIN user_credits c ON c.account_id = x.account
       WHERE NOT x.shared
    ) d;

  -- Their ledger entries (ids in batch order), then their snapshots.
  WITH inserted AS (
    INSERT INTO credit_ledger (account_id, user_id, type, amount, balance_after, request_id, details)
    SELECT v_account[s.idx + 1], v_user[s.idx + 1], 'generation', -v_amount[s.idx + 1], s.available - v_amount[s.idx + 1],
           v_request[s.idx + 1], coalesce(p_items -> s.idx -> 'details', '{}'::jsonb)
      FROM unnest(v_s_index, v_s_verdict, v_s_available) AS s(idx, verdict, available)
     WHERE s.verdict = 'debit'
     ORDER BY s.idx
    RETURNING id, user_id, request_id, balance_after
  )
  SELECT array_agg(x.idx ORDER BY x.idx), array_agg(i.id ORDER BY x.idx), array_agg(i.balance_after ORDER BY x.idx)
    INTO v_d_index, v_d_ledger, v_d_balance
    FROM inserted i
    JOIN unnest(v_index, v_user, v_request, v_shared) AS x(idx, usr, req, shared) ON NOT x.shared AND x.usr = i.user_id AND x.req = i.request_id;

  UPDATE user_credits c SET available = d.balance, used = c.used + v_amount[d.idx + 1], version = c.version + 1, updated_at = now()
    FROM unnest(v_d_index, v_d_balance) AS d(idx, balance)
   WHERE c.account_id = v_account[d.idx + 1];

  -- Their idempotency records, written once with the outcome that names the generation.
  SELECT array_agg(n.idx ORDER BY n.idx), array_agg(n.ledger ORDER BY n.idx), array_agg(n.outcome ORDER BY n.idx)
    INTO v_n_index, v_n_ledger, v_n_outcome
    FROM (
      SELECT d.idx, d.ledger, jsonb_build_object('charged', v_amount[d.idx + 1], 'balanceAfter', d.balance, 'ledgerId', d.ledger::text,
               'unlimited', false, 'generation', p_items -> d.idx -> 'generation' ->> 'id') AS outcome
        FROM unnest(v_d_index, v_d_ledger, v_d_balance) AS d(idx, ledger, balance)
      UNION ALL
      SELECT s.idx, NULL::bigint, jsonb_build_object('charged', 0, 'balanceAfter', NULL, 'ledgerId', NULL,
               'unlimited', true, 'generation', p_items -> s.idx -> 'generation' ->> 'id')
        FROM unnest(v_s_index, v_s_verdict) AS s(idx, verdict)
       WHERE s.verdict = 'unlimited'
    ) n;

  INSERT INTO credit_requests (user_id, request_id, kind, fingerprint, ledger_id, outcome)
  SELECT v_user[n.idx + 1], v_request[n.idx + 1], 'generation', v_fingerprint[n.idx + 1], n.ledger, n.outcome
    FROM unnest(v_n_index, v_n_ledger, v_n_outcome) AS n(idx, ledger, outcome);

  -- Items on shared accounts: one debit after another, in batch order.
  FOR v_position IN SELECT x.idx FROM unnest(v_index, v_shared) AS x(idx, shared) WHERE x.shared ORDER BY x.idx LOOP
    IF v_taken[v_position + 1] THEN
      SELECT 'answered'::text AS status, NULL::bigint AS ledger_id, 0 AS charged, NULL::integer AS balance_after,
             NULL::integer AS available, NULL::jsonb AS outcome
        INTO v_row;
    ELSE
      SELECT * INTO v_row FROM credit_debit(v_user[v_position + 1], v_request[v_position + 1], 'generation', v_amount[v_position + 1],
        v_fingerprint[v_position + 1], p_items -> v_position -> 'details', p_now) d;
    END IF;
    IF v_row.status = 'debited' THEN
      v_row.outcome := v_row.outcome || jsonb_build_object('generation', p_items -> v_position -> 'generation' ->> 'id');
      v_ld_index := v_ld_index || v_position;
      v_ld_ledger := v_ld_ledger || v_row.ledger_id;
      v_ld_outcome := v_ld_outcome || v_row.outcome;
    END IF;
    v_l_index := v_l_index || v_position;
    v_l_status := v_l_status || v_row.status;
    v_l_ledger := v_l_ledger || v_row.ledger_id;
    v_l_charged := v_l_charged || v_row.charged;
    v_l_balance := v_l_balance || v_row.balance_after;
    v_l_available := v_l_available || v_row.available;
    v_l_outcome := v_l_outcome || v_row.outcome;
  END LOOP;

  UPDATE credit_requests r SET outcome = d.outcome
    FROM unnest(v_ld_index, v_ld_outcome) AS d(idx, outcome)
   WHERE r.user_id = v_user[d.idx + 1] AND r.request_id = v_request[d.idx + 1];

  -- The generation rows of every hit debited (or free for an unlimited account), ready and answered.
  INSERT INTO generations (id, user_id, session_id, request_id, purpose, queue, state, charge, provider, model, credits, usd,
      ledger_id, prompt, prompt_key, prompt_hash, variant, genre, mood, style, energy, orientation, width, height, p, reasons,
      cache_hit, frame_id, deadline_at, started_at, finished_at, answered_at, answer_session, answer_request)
    SELECT f ->> 'id', i ->> 'user', f ->> 'sessionId', f ->> 'requestId', 'interactive', 'interactive', 'ready',
      CASE WHEN d.ledger_id IS NULL THEN 'none' ELSE 'kept' END, f ->> 'provider', f ->> 'model',
      (f ->> 'credits')::integer, 0, d.ledger_id, f ->> 'prompt', f ->> 'promptKey', f ->> 'promptHash',
      (f ->> 'variant')::integer, f ->> 'genre', f ->> 'mood', f ->> 'style', (f ->> 'energy')::real,
      f ->> 'orientation', (f ->> 'width')::integer, (f ->> 'height')::integer, (f ->> 'p')::real,
      f -> 'reasons', true, coalesce(i ->> 'frameId', f ->> 'frameId'), now(), now(), now(), now(), f ->> 'sessionId', f ->> 'requestId'
    FROM (SELECT * FROM unnest(v_n_index, v_n_ledger) UNION ALL SELECT * FROM unnest(v_ld_index, v_ld_ledger)) AS d(item, ledger_id)
    CROSS JOIN LATERAL (SELECT p_items -> d.item AS i, p_items -> d.item -> 'generation' AS f) x;

  -- Eviction looks for a week unused: an entry touched within the hour is left alone, so the
  -- hottest prompts are not a row every batch waits to lock.
  UPDATE prompt_cache c SET last_used_at = now()
    WHERE c.prompt_hash IN (SELECT p_items -> d.item -> 'generation' ->> 'promptHash'
                              FROM (SELECT * FROM unnest(v_n_index) UNION ALL SELECT * FROM unnest(v_ld_index)) AS d(item))
      AND c.last_used_at < now() - interval '1 hour';

  RETURN QUERY
    SELECT s.idx, s.verdict, CASE WHEN s.verdict = 'replayed' THEN s.prior_ledger END,
           CASE WHEN s.verdict = 'replayed' THEN coalesce((s.prior_outcome ->> 'charged')::integer, 0) ELSE 0 END,
           CASE WHEN s.verdict = 'replayed' THEN (s.prior_outcome ->> 'balanceAfter')::integer END,
           CASE WHEN s.verdict = 'insufficient' THEN s.available END,
           CASE WHEN s.verdict = 'replayed' THEN s.prior_outcome END
      FROM unnest(v_s_index, v_s_verdict, v_s_available, v_s_prior_ledger, v_s_prior_outcome) AS s(idx, verdict, available, prior_ledger, prior_outcome)
     WHERE s.verdict NOT IN ('debit', 'unlimited')
    UNION ALL
    SELECT n.idx, 'debited'::text, n.ledger, (n.outcome ->> 'charged')::integer, (n.outcome ->> 'balanceAfter')::integer,
           (n.outcome ->> 'balanceAfter')::integer, n.outcome
      FROM unnest(v_n_index, v_n_ledger, v_n_outcome) AS n(idx, ledger, outcome)
    UNION ALL
    SELECT l.idx, l.status, l.ledger, l.charged, l.balance, CASE WHEN l.status = 'debited' THEN l.balance ELSE l.available END, l.outcome
      FROM unnest(v_l_index, v_l_status, v_l_ledger, v_l_charged, v_l_balance, v_l_available, v_l_outcome)
             AS l(idx, status, ledger, charged, balance, available, outcome);
END $$;
