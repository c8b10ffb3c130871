-- A risk signal of risk.signals.v1 (payment-risk) applied to a user: one row per signal id, so a
-- re-delivered or replayed signal changes nothing. The user is flagged while a row is not cleared
-- and its cool-down has not ended; checkout and promote refuse a flagged user with 403.
CREATE TABLE user_risk_flags (
    signal_id     uuid        PRIMARY KEY,
    user_id       uuid        NOT NULL,
    signal        text        NOT NULL,
    signal_count  integer     NOT NULL,
    threshold     integer     NOT NULL,
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    flagged_at    timestamptz NOT NULL,
    flagged_until timestamptz NOT NULL,
    cleared_at    timestamptz,
    cleared_by    uuid,
    clear_reason  text,
    CONSTRAINT user_risk_flags_cool_down CHECK (flagged_until > flagged_at),
    CONSTRAINT user_risk_flags_clear_has_reason CHECK (cleared_at IS NULL OR clear_reason IS NOT NULL)
);

-- "is this user flagged now?" on every checkout and promote
CREATE INDEX user_risk_flags_active ON user_risk_flags (user_id, flagged_until)
    WHERE cleared_at IS NULL;
