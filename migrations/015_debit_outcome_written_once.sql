-- A fresh frame's order wrote its debit's idempotency record twice: credit_debit (013) inserted
-- it, and once the generation row and its job were written the server updated it to name the
-- generation: one more statement per order, and a second heap tuple and index entry per record.
-- The generation's id is known before the debit, so this overload takes what the record must also
-- say (p_outcome, merged under the debit's own facts into the outcome it stores and returns) and
-- writes the record once. A replay returns the stored outcome as before. Besides a check that the
-- outcome is an object, nothing else differs from 013's credit_debit. The seven-argument function
-- stays, as this one with no outcome, for charge_cached_frames (an account named more than once in
-- a batch, whose record it still completes afterwards) and for servers still running the code
-- before this.
CREATE OR REPLACE FUNCTION credit_debit(
  p_user text, p_request text, p_kind text, p_amount integer, p_fingerprint text, p_details jsonb, p_now timestamptz,
  p_outcome jsonb
) RETURNS TABLE (status text, ledger_id bigint, charged integer, balance_after integer, available integer, outcome jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  v_team text;
  v_unlimited boolean;
  v_account text;
  v_request credit_requests%ROWTYPE;
  v_snapshot user_credits%ROWTYPE;
  v_last integer;
  v_id bigint;
  v_balance integer;
  v_outcome jsonb;
BEGIN
  IF p_amount IS NULL OR p_amount <= 0 THEN
    RAISE EXCEPTION 'debit amounts are positive integers, got %', p_amount;
  END IF;
  IF p_user IS NULL OR p_request IS NULL OR p_kind IS NULL OR p_fingerprint IS NULL OR p_now IS NULL THEN
    RAISE EXCEPTION 'credit_debit needs a user, a request id, a kind, a fingerprint and a time';
  END IF;
  -- Merged into the stored outcome, which a replay reads as an object.
  IF p_outcome IS NOT NULL AND jsonb_typeof(p_outcome) <> 'object' THEN
    RAISE EXCEPTION 'a debit''s outcome is a JSON object, got %', jsonb_typeof(p_outcome);
  END IF;
  -- The team names the account to lock, and a user's team never changes. The tier can: a change
  -- takes the account's lock first, so it is read under the lock, when it cannot change any more.
  SELECT u.team INTO v_team FROM users u WHERE u.id = p_user;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'unknown_user'::text, NULL::bigint, 0, NULL::integer, NULL::integer, NULL::jsonb;
    RETURN;
  END IF;
  v_account := CASE WHEN v_team IS NULL THEN p_user ELSE 'team:' || v_team END;
  PERFORM pg_advisory_xact_lock(hashtextextended('credit:' || v_account, 0));
  SELECT t.unlimited INTO v_unlimited FROM users u JOIN tiers t ON t.name = u.tier WHERE u.id = p_user;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'unknown_user'::text, NULL::bigint, 0, NULL::integer, NULL::integer, NULL::jsonb;
    RETURN;
  END IF;

  SELECT * INTO v_request FROM credit_requests r WHERE r.user_id = p_user AND r.request_id = p_request;
  IF FOUND THEN
    IF v_request.fingerprint <> p_fingerprint THEN
      RETURN QUERY SELECT 'mismatch'::text, NULL::bigint, 0, NULL::integer, NULL::integer, NULL::jsonb;
    ELSE
      RETURN QUERY SELECT 'replayed'::text, v_request.ledger_id, coalesce((v_request.outcome ->> 'charged')::integer, 0),
        (v_request.outcome ->> 'balanceAfter')::integer, NULL::integer, v_request.outcome;
    END IF;
    RETURN;
  END IF;

  IF v_unlimited THEN
    v_outcome := coalesce(p_outcome, '{}'::jsonb) || jsonb_build_object('charged', 0, 'balanceAfter', NULL, 'ledgerId', NULL, 'unlimited', true);
    INSERT INTO credit_requests (user_id, request_id, kind, fingerprint, ledger_id, outcome) VALUES (p_user, p_request, p_kind, p_fingerprint, NULL, v_outcome);
    RETURN QUERY SELECT 'debited'::text, NULL::bigint, 0, NULL::integer, NULL::integer, v_outcome;
    RETURN;
  END IF;

  SELECT * INTO v_snapshot FROM user_credits c WHERE c.account_id = v_account FOR UPDATE;
  IF NOT FOUND OR v_snapshot.cycle_end <= p_now
     OR (v_team IS NOT NULL AND NOT EXISTS (SELECT 1 FROM credit_pool_members m WHERE m.user_id = p_user AND m.account_id = v_account)) THEN
    RETURN QUERY SELECT 'prepare'::text, NULL::bigint, 0, NULL::integer, NULL::integer, NULL::jsonb;
    RETURN;
  END IF;
  -- An account with a quota has an entry since its cycle started (the refill), so this usually
  -- reads one or two monthly partitions; the unrestricted lookup below covers the rest (zero
  -- quotas, cycles closed ahead of time). Ids and times are both drawn under the lock.
  SELECT l.balance_after INTO v_last FROM credit_ledger l
    WHERE l.account_id = v_account AND l.ts >= v_snapshot.cycle_start ORDER BY l.id DESC LIMIT 1;
  IF NOT FOUND THEN
    SELECT l.balance_after INTO v_last FROM credit_ledger l WHERE l.account_id = v_account ORDER BY l.id DESC LIMIT 1;
  END IF;
  IF coalesce(v_last, 0) <> v_snapshot.available THEN
    RETURN QUERY SELECT 'prepare'::text, NULL::bigint, 0, NULL::integer, NULL::integer, NULL::jsonb;
    RETURN;
  END IF;
  IF v_snapshot.available < p_amount THEN
    RETURN QUERY SELECT 'insufficient'::text, NULL::bigint, 0, NULL::integer, v_snapshot.available, NULL::jsonb;
    RETURN;
  END IF;

  v_balance := v_snapshot.available - p_amount;
  INSERT INTO credit_ledger (account_id, user_id, type, amount, balance_after, request_id, details)
    VALUES (v_account, p_user, p_kind, -p_amount, v_balance, p_request, coalesce(p_details, '{}'::jsonb))
    RETURNING id INTO v_id;
  UPDATE user_credits SET available = v_balance, used = used + p_amount, version = version + 1, updated_at = now()
    WHERE account_id = v_account;
  v_outcome := coalesce(p_outcome, '{}'::jsonb) || jsonb_build_object('charged', p_amount, 'balanceAfter', v_balance, 'ledgerId', v_id::text, 'unlimited', false);
  INSERT INTO credit_requests (user_id, request_id, kind, fingerprint, ledger_id, outcome)
    VALUES (p_user, p_request, p_kind, p_fingerprint, v_id, v_outcome);
  RETURN QUERY SELECT 'debited'::text, v_id, p_amount, v_balance, v_balance, v_outcome;
END $$;

CREATE OR REPLACE FUNCTION credit_debit(
  p_user text, p_request text, p_kind text, p_amount integer, p_fingerprint text, p_details jsonb, p_now timestamptz
) RETURNS TABLE (status text, ledger_id bigint, charged integer, balance_after integer, available integer, outcome jsonb)
LANGUAGE sql AS $$
  SELECT * FROM credit_debit(p_user, p_request, p_kind, p_amount, p_fingerprint, p_details, p_now, NULL::jsonb)
$$;
