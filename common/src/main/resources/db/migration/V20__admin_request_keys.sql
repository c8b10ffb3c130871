-- The admin request under an Idempotency-Key that wrote a row: a SHA-256 of the super_admin, the key,
-- the method, the path and the body (never the key itself), null without a key. Written in the
-- transaction of the effect, so that a rerun of the same request whose first answer was lost (its
-- process killed, or the database gone, between the commit and the stored answer) finds its own
-- effect and answers with it, instead of a 409 ("already rejected") or a second effect.
ALTER TABLE refund_decisions ADD COLUMN request_key text;
ALTER TABLE marketplace_listings ADD COLUMN rejection_request_key text;
ALTER TABLE users ADD COLUMN unban_request_key text;
ALTER TABLE user_risk_flags ADD COLUMN clear_request_key text;
