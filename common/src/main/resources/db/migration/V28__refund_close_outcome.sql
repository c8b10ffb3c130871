-- A failed refund an admin closes says where its money stands. 'refunded_elsewhere': the customer
-- got it back another way (a bank transfer after the card expired); it still counts as money gone
-- back, so no later refund of the payment pays it a second time. 'not_owed': nothing more is owed
-- for it (the money went back through another record, a dashboard refund or a chargeback; the
-- payment was never ours; or an automatic refund took over what it owed); its room is free again.
-- Before this column every closed failed refund freed its room, so a refund paid by bank transfer
-- and closed could be refunded again through Stripe.
--
-- Closes made before it keep a null outcome and count as they did (room free, not money returned):
-- which of them were paid another way only their admins know (runbook, "Refund failed at Stripe").
-- The check allows null for the same reason, so that services of the previous release, which close
-- without an outcome, keep working while a deployment rolls.
ALTER TABLE payment_refunds ADD COLUMN close_outcome text;

-- NOT VALID: no scan of the table under this statement's lock; V29 validates it.
ALTER TABLE payment_refunds ADD CONSTRAINT refunds_close_outcome
    CHECK (close_outcome IS NULL
           OR (close_outcome IN ('refunded_elsewhere', 'not_owed') AND closed_at IS NOT NULL))
    NOT VALID;
