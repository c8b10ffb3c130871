-- A user's request the refund worker closed as 'not_owed' for the chargeback that took all of its
-- payment back (its dispute lost) is reopened, back to 'pending' for an admin's decision, when that
-- dispute is won after all: the money came back to us, and nothing else gives it to the customer.
-- Each reopening counts here, so that the request's next 'refund.requested' and 'refund.rejected'
-- are announced under ids of their own rather than taken for the first ones.
SET LOCAL lock_timeout = '5s';
ALTER TABLE payment_refunds ADD COLUMN IF NOT EXISTS reopened integer NOT NULL DEFAULT 0;
