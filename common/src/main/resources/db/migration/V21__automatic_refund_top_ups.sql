-- A rejection (or technical failure) owes the customer all of the payment that did not go back
-- otherwise. Decided while part of it was counted as gone back (a refund on its way or made, an open
-- dispute's chargeback), the automatic refund is that much short. If that money comes back to us
-- (Stripe fails the refund, the dispute is won), the refund worker decides the rest: a further
-- automatic record of the same payment, its part 1, 2, ... Part 0 is the first decision; each part
-- is recorded once, whatever re-delivers the decision or offers the room again.
ALTER TABLE payment_refunds
    ADD COLUMN IF NOT EXISTS automatic_part integer NOT NULL DEFAULT 0 CHECK (automatic_part >= 0);

DROP INDEX IF EXISTS refunds_one_automatic_per_payment;
CREATE UNIQUE INDEX IF NOT EXISTS refunds_one_automatic_part_per_payment
    ON payment_refunds (stripe_payment_intent_id, automatic_part)
    WHERE reason IN ('technical_failure', 'moderation_rejection');

-- refund_decisions_awaiting_room now also keeps a decision whose refund is short of the payment,
-- until its parts add up to the payment: what comes back is owed under the same decision.
