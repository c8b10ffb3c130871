-- A failed refund an admin closes says where its money stands. 'refunded_elsewhere': the customer
-- got it back another way (a bank transfer after the card expired); it still counts as money gone
-- back, so no later refund of the payment pays it a second time. 'not_owed': nothing more is owed
-- for it (the money went back through another record, a dashboard refund or a chargeback; the
-- payment was never ours; or an automatic refund took over what it owed); its room is free again.
-- Before this column every closed failed refund freed its room, so a refund paid by bank transfer
-- and closed could be refunded again through Stripe.
ALTER TABLE payment_refunds ADD COLUMN close_outcome text;

-- Closed by an admin: the money may have been paid another way, so it keeps counting (an admin who
-- closed it because the money went back through another record closes nothing again, but may see a
-- later refund of that payment refused as over what is left: the safe side). Closed by the refund
-- worker, with no admin's decision: an automatic refund owes its money.
UPDATE payment_refunds r
SET close_outcome = CASE WHEN EXISTS (SELECT 1 FROM refund_decisions d
                                      WHERE d.refund_id = r.id AND d.decision = 'closed')
                         THEN 'refunded_elsewhere' ELSE 'not_owed' END
WHERE closed_at IS NOT NULL;

-- NOT VALID: no scan of the table under this statement's lock; V29 validates it.
ALTER TABLE payment_refunds ADD CONSTRAINT refunds_close_outcome
    CHECK (close_outcome IN ('refunded_elsewhere', 'not_owed')
           AND (close_outcome IS NULL) = (closed_at IS NULL)) NOT VALID;
