-- The banned users, for the refund worker's janitor, which cancels the open PaymentIntents of banned
-- and flagged users on every pass (every 10 s by default): an index of the few, not a scan of all.
CREATE INDEX IF NOT EXISTS users_banned ON users (id) WHERE banned_at IS NOT NULL;
