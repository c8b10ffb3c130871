-- A super_admin's clear of a user's risk (POST /admin/api/marketplace/users/{id}/risk/clear): one row
-- per clear, whether or not a flag was active at that moment. The clear applies to everything the
-- risk service counted up to it: the flag worker (payment-risk) records a signal counted before the
-- user's latest clear as cleared by it, and the risk service restarts its counts from the clear
-- (user.risk_cleared, whose id this row keeps). Before this table a clear that found no active flag
-- left no trace, and a signal counted before it but applied after flagged the user anyway. Clears
-- made before it are on the flag rows they cleared (user_risk_flags.cleared_at), which the worker
-- still reads.
CREATE TABLE user_risk_clears (
    event_id      uuid        PRIMARY KEY,
    user_id       uuid        NOT NULL,
    cleared_at    timestamptz NOT NULL,
    cleared_by    uuid        NOT NULL,
    clear_reason  text        NOT NULL,
    cleared_flags integer     NOT NULL,
    -- as user_risk_flags.clear_request_key (V20): the admin request under an Idempotency-Key that
    -- made the clear, so that its rerun answers as it did instead of clearing a second time
    request_key   text,
    CONSTRAINT user_risk_clears_flags CHECK (cleared_flags >= 0)
);

-- the latest clear of a user, which the flag worker looks up for every signal it applies
CREATE INDEX user_risk_clears_by_user ON user_risk_clears (user_id, cleared_at);
