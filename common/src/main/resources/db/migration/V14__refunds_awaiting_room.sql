-- A refund Stripe made outside the system (its dashboard) that our records cannot hold yet: with it
-- they would sum to more than was paid, because they still count an earlier refund that Stripe has
-- failed, its refund.failed not delivered yet (Stripe does not order its events). Stripe never
-- refunds more than the charge, so the refund is real: the refund worker keeps it here and records
-- it when a failure on its PaymentIntent makes room. A row that stays is a disagreement with Stripe
-- for an operator (docs/runbook.md, "Refund stuck").
CREATE TABLE IF NOT EXISTS refunds_awaiting_room (
    stripe_refund_id         text        PRIMARY KEY,
    stripe_payment_intent_id text        NOT NULL,
    refund                   jsonb       NOT NULL,
    parked_at                timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS refunds_awaiting_room_by_payment
    ON refunds_awaiting_room (stripe_payment_intent_id);
