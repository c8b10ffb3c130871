-- The latest clear of a user's risk flags, which the flag worker (payment-risk) looks up for every
-- signal it applies: a signal raised before that clear is recorded as cleared by it rather than
-- flagging the user again.
CREATE INDEX user_risk_flags_clears ON user_risk_flags (user_id, cleared_at)
    WHERE cleared_at IS NOT NULL;
