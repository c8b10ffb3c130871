-- When a refund moved to its key round (V22). Stripe's 500 leaves the outcome of the failed call
-- unknown: Stripe may still finish it and make the refund. The next round asks under a new key only
-- once the move is old enough for such a refund to show among the PaymentIntent's refunds, and
-- until then only looks for it.
ALTER TABLE payment_refunds ADD COLUMN IF NOT EXISTS key_round_at timestamptz;
