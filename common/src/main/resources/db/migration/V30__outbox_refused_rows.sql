-- A row the broker refuses (too large for its topic, a topic the principal may not write to, a
-- partition that stays unavailable) no longer holds back every row after it. The relay notes the
-- failure on the row and retries it, resting longer after each failure (up to 5 s); until the broker
-- takes it, only rows with one of its keys on one of its topics wait behind it, so each key's
-- events stay in order, and every other row is published and deleted meanwhile (before, the whole
-- batch was sent again on every retry).
ALTER TABLE outbox_events
    ADD COLUMN attempts   integer NOT NULL DEFAULT 0,
    ADD COLUMN failed_at  timestamptz,
    ADD COLUMN last_error text;
