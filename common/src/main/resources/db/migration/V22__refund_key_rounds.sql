-- Stripe keeps an answer given from inside an endpoint, a 500 included, for the request's
-- Idempotency-Key, and replays it to every retry with that key for 24 hours. A refund whose call got
-- such a 500 would be retried into the same 500 for a day. The executor then moves the record to its
-- next key round: the next call first looks for a refund the failed one may have made (by
-- metadata[refund_id] and the attempt), and only if there is none asks again under the round's key,
-- refund-<id>[-<attempt>]-r<round>. Callers of one round share its key, so they still reach one refund.
ALTER TABLE payment_refunds
    ADD COLUMN IF NOT EXISTS key_round integer NOT NULL DEFAULT 0 CHECK (key_round >= 0);
