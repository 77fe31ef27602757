-- The group commit of prompt-cache hits (010) wrote each hit's generation row, its outcome and its
-- prompt-cache touch as statements of their own inside the loop over the batch: a single-row
-- INSERT of 34 values read out of the JSON item cost PostgreSQL ~280 µs, where the same rows
-- inserted by one statement cost ~50 µs each. Here the loop does only what must be done item by
-- item (the debit, under its account's lock, with its idempotency checks); the generation rows,
-- the outcomes and the prompt-cache touches of every debited item are then one statement each.
--
-- Same signature, same answers, same all-or-nothing batch. An item's frame id may be given beside
-- its generation (`frameId`) or inside it, as 010 read it.
CREATE OR REPLACE FUNCTION charge_cached_frames(p_items jsonb, p_now timestamptz)
RETURNS TABLE (item integer, status text, ledger_id bigint, charged integer, balance_after integer, available integer, outcome jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_index integer;
  v_item jsonb;
  v_row record;
  v_items integer[] := '{}';
  v_ledger_ids bigint[] := '{}';
  v_charged integer[] := '{}';
  v_balances integer[] := '{}';
  v_outcomes jsonb[] := '{}';
BEGIN
  IF p_items IS NULL OR jsonb_typeof(p_items) <> 'array' THEN
    RAISE EXCEPTION 'charge_cached_frames needs a JSON array of items';
  END IF;
  FOR v_index IN 0 .. jsonb_array_length(p_items) - 1 LOOP
    v_item := p_items -> v_index;
    SELECT * INTO v_row FROM credit_debit(v_item ->> 'user', v_item ->> 'request', 'generation', (v_item ->> 'amount')::integer,
      v_item ->> 'fingerprint', v_item -> 'details', p_now) d;
    IF v_row.status <> 'debited' THEN
      RETURN QUERY SELECT v_index, v_row.status, v_row.ledger_id, v_row.charged, v_row.balance_after, v_row.available, v_row.outcome;
      CONTINUE;
    END IF;
    v_items := v_items || v_index;
    v_ledger_ids := v_ledger_ids || v_row.ledger_id;
    v_charged := v_charged || v_row.charged;
    v_balances := v_balances || v_row.balance_after;
    v_outcomes := v_outcomes || (v_row.outcome || jsonb_build_object('generation', v_item -> 'generation' ->> 'id'));
  END LOOP;
  IF cardinality(v_items) = 0 THEN
    RETURN;
  END IF;

  INSERT INTO generations (id, user_id, session_id, request_id, purpose, queue, state, charge, provider, model, credits, usd,
      ledger_id, prompt, prompt_key, prompt_hash, variant, genre, mood, style, energy, orientation, width, height, p, reasons,
      cache_hit, frame_id, deadline_at, started_at, finished_at, answered_at, answer_session, answer_request)
    SELECT f ->> 'id', i ->> 'user', f ->> 'sessionId', f ->> 'requestId', 'interactive', 'interactive', 'ready',
      CASE WHEN d.ledger_id IS NULL THEN 'none' ELSE 'kept' END, f ->> 'provider', f ->> 'model',
      (f ->> 'credits')::integer, 0, d.ledger_id, f ->> 'prompt', f ->> 'promptKey', f ->> 'promptHash',
      (f ->> 'variant')::integer, f ->> 'genre', f ->> 'mood', f ->> 'style', (f ->> 'energy')::real,
      f ->> 'orientation', (f ->> 'width')::integer, (f ->> 'height')::integer, (f ->> 'p')::real,
      f -> 'reasons', true, coalesce(i ->> 'frameId', f ->> 'frameId'), now(), now(), now(), now(), f ->> 'sessionId', f ->> 'requestId'
    FROM unnest(v_items, v_ledger_ids) AS d(item, ledger_id)
    CROSS JOIN LATERAL (SELECT p_items -> d.item AS i, p_items -> d.item -> 'generation' AS f) x;

  UPDATE credit_requests r SET outcome = d.outcome
    FROM unnest(v_items, v_outcomes) AS d(item, outcome)
    WHERE r.user_id = p_items -> d.item ->> 'user' AND r.request_id = p_items -> d.item ->> 'request';

  -- Eviction looks for a week unused: an entry touched within the hour is left alone, so the
  -- hottest prompts are not a row every batch waits to lock.
  UPDATE prompt_cache c SET last_used_at = now()
    WHERE c.prompt_hash IN (SELECT p_items -> d.item -> 'generation' ->> 'promptHash' FROM unnest(v_items) AS d(item))
      AND c.last_used_at < now() - interval '1 hour';

  RETURN QUERY SELECT d.item, 'debited'::text, d.ledger_id, d.charged, d.balance_after, d.balance_after, d.outcome
    FROM unnest(v_items, v_ledger_ids, v_charged, v_balances, v_outcomes) AS d(item, ledger_id, charged, balance_after, outcome);
END $$;
