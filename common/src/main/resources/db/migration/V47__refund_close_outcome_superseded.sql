-- A failed part of an automatic refund (a rejection's, a technical failure's) that no longer fits
-- in what is left of its payment, money having gone back outside the system meanwhile (a refund
-- made in Stripe's dashboard, told after the part was decided, so that Stripe refused it: less was
-- left than it asked), is closed by the refund worker as 'superseded': its decision owes what is
-- left instead, as a further part. Its amount is neither gone back (as 'refunded_elsewhere') nor
-- still owed by the decision (as 'not_owed', an admin's word). The constraint of V28 takes the new
-- outcome; NOT VALID as there, the rows it held already satisfying the narrower check.
ALTER TABLE payment_refunds DROP CONSTRAINT IF EXISTS refunds_close_outcome;
ALTER TABLE payment_refunds ADD CONSTRAINT refunds_close_outcome
    CHECK (close_outcome IS NULL
           OR (close_outcome IN ('refunded_elsewhere', 'not_owed', 'superseded')
               AND closed_at IS NOT NULL))
    NOT VALID;
