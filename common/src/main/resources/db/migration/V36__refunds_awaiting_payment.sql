-- A refund Stripe made outside the system (its dashboard) on a PaymentIntent we have no payments row
-- for yet: checkout-api's insert was lost or is not visible yet, and the payment processor rebuilds
-- the row from the PaymentIntent's metadata when it applies the payment's success. The refund worker
-- keeps the refund here and records it once the row exists (its janitor's pass, or the refund's next
-- event). Until then its amount counts as money gone back on that PaymentIntent, so the processor
-- does not deliver a purchase whose money all went back. A row of someone else's PaymentIntent on
-- the account stays: it is never recorded and counts for nothing of ours.
CREATE TABLE IF NOT EXISTS refunds_awaiting_payment (
    stripe_refund_id         text        PRIMARY KEY,
    stripe_payment_intent_id text        NOT NULL,
    amount_cents             integer     NOT NULL CHECK (amount_cents > 0),
    refund                   jsonb       NOT NULL,
    parked_at                timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS refunds_awaiting_payment_by_payment
    ON refunds_awaiting_payment (stripe_payment_intent_id);
