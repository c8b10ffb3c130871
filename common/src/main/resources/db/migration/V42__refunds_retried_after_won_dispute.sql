-- An automatic refund (moderation rejection, technical failure) that Stripe refused because its
-- charge had a chargeback open (failure_reason charge_disputed), decided before the refund worker
-- heard of the dispute, is asked again by the refund worker once that dispute is won: the money is
-- back with us, and Stripe lets a charge whose chargeback was won be refunded. The retry is the
-- refund's next attempt (a new Stripe idempotency key, as an admin's retry), and this table keeps
-- one row per refund and won dispute, written in the retry's transaction: a refund is retried once
-- for a dispute, so a refusal of the retry is left to an admin, never looped on.
CREATE TABLE IF NOT EXISTS refunds_retried_after_won_dispute (
    refund_id         uuid        NOT NULL REFERENCES payment_refunds (id),
    stripe_dispute_id text        NOT NULL,
    attempt           integer     NOT NULL,
    retried_at        timestamptz NOT NULL,
    PRIMARY KEY (refund_id, stripe_dispute_id)
);
