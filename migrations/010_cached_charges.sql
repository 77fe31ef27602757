-- Group commit for fresh frames served from the prompt cache: the debits of many users, each with
-- its generation row (ready and answered at once) and its idempotency outcome, in one statement and
-- one commit, instead of a transaction of five round trips plus three more statements per frame.
--
-- The statement is all or nothing: an item that fails (an unexpected conflict) rolls the whole
-- batch back, and the caller takes the ordinary path for each of its items. (Items are not
-- subtransactions: a savepoint per item costs more than it saves, and past 64 of them in one
-- transaction PostgreSQL's snapshots of every other session slow down.) Items other than new debits ('replayed', 'insufficient', 'mismatch', 'prepare', 'unknown_user')
-- change nothing and are reported as credit_debit reported them. The caller sorts items by account,
-- so two batches always take the accounts' locks in the same order and cannot deadlock.
CREATE FUNCTION charge_cached_frames(p_items jsonb, p_now timestamptz)
RETURNS TABLE (item integer, status text, ledger_id bigint, charged integer, balance_after integer, available integer, outcome jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_index integer;
  v_item jsonb;
  v_frame jsonb;
  v_row record;
  v_outcome jsonb;
BEGIN
  IF p_items IS NULL OR jsonb_typeof(p_items) <> 'array' THEN
    RAISE EXCEPTION 'charge_cached_frames needs a JSON array of items';
  END IF;
  FOR v_index IN 0 .. jsonb_array_length(p_items) - 1 LOOP
    v_item := p_items -> v_index;
    v_frame := v_item -> 'generation';
    SELECT * INTO v_row FROM credit_debit(v_item ->> 'user', v_item ->> 'request', 'generation', (v_item ->> 'amount')::integer,
      v_item ->> 'fingerprint', v_item -> 'details', p_now) d;
    IF v_row.status <> 'debited' THEN
      RETURN QUERY SELECT v_index, v_row.status, v_row.ledger_id, v_row.charged, v_row.balance_after, v_row.available, v_row.outcome;
      CONTINUE;
    END IF;
    INSERT INTO generations (id, user_id, session_id, request_id, purpose, queue, state, charge, provider, model, credits, usd,
        ledger_id, prompt, prompt_key, prompt_hash, variant, genre, mood, style, energy, orientation, width, height, p, reasons,
        cache_hit, frame_id, deadline_at, started_at, finished_at, answered_at, answer_session, answer_request)
      VALUES (v_frame ->> 'id', v_item ->> 'user', v_frame ->> 'sessionId', v_frame ->> 'requestId', 'interactive', 'interactive', 'ready',
        CASE WHEN v_row.ledger_id IS NULL THEN 'none' ELSE 'kept' END, v_frame ->> 'provider', v_frame ->> 'model',
        (v_frame ->> 'credits')::integer, 0, v_row.ledger_id, v_frame ->> 'prompt', v_frame ->> 'promptKey', v_frame ->> 'promptHash',
        (v_frame ->> 'variant')::integer, v_frame ->> 'genre', v_frame ->> 'mood', v_frame ->> 'style', (v_frame ->> 'energy')::real,
        v_frame ->> 'orientation', (v_frame ->> 'width')::integer, (v_frame ->> 'height')::integer, (v_frame ->> 'p')::real,
        v_frame -> 'reasons', true, v_frame ->> 'frameId', now(), now(), now(), now(), v_frame ->> 'sessionId', v_frame ->> 'requestId');
    v_outcome := v_row.outcome || jsonb_build_object('generation', v_frame ->> 'id');
    UPDATE credit_requests r SET outcome = v_outcome WHERE r.user_id = v_item ->> 'user' AND r.request_id = v_item ->> 'request';
    -- Eviction looks for a week unused: an entry touched within the hour is left alone, so the
    -- hottest prompts are not a row every batch waits to lock.
    UPDATE prompt_cache c SET last_used_at = now() WHERE c.prompt_hash = v_frame ->> 'promptHash' AND c.last_used_at < now() - interval '1 hour';
    RETURN QUERY SELECT v_index, v_row.status, v_row.ledger_id, v_row.charged, v_row.balance_after, v_row.available, v_outcome;
  END LOOP;
END $$;
