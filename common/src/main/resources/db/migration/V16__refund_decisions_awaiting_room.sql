-- An automatic refund (moderation rejection, technical failure) decided while nothing was left to
-- refund: our records counted the payment's money as gone back, by an open dispute's chargeback or a
-- refund that Stripe may still fail. When that money comes back to us (the dispute is won, the
-- refund fails), the refund worker decides it again with its own decided_at, so the 24 h rule gives
-- what it would have given had the money never been counted; one row per payment, as a payment gets
-- at most one automatic refund. A row that stays is a payment whose money did go back (a dispute
-- lost, a refund made): nothing is owed.
CREATE TABLE IF NOT EXISTS refund_decisions_awaiting_room (
    stripe_payment_intent_id text        PRIMARY KEY,
    reason                   text        NOT NULL
        CHECK (reason IN ('technical_failure', 'moderation_rejection')),
    decided_at               timestamptz NOT NULL,
    note                     text,
    parked_at                timestamptz NOT NULL
);

-- Disputes recorded before their payment's row (no user yet): the refund worker's janitor looks for
-- those whose row has appeared since, to count them without waiting for another Stripe event.
CREATE INDEX IF NOT EXISTS payment_disputes_without_user
    ON payment_disputes (stripe_payment_intent_id) WHERE user_id IS NULL;
