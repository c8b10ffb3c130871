-- Validates V28's check on the rows written before it, in a transaction of its own: VALIDATE
-- CONSTRAINT takes only a SHARE UPDATE EXCLUSIVE lock, so refunds are written while it scans.
ALTER TABLE payment_refunds VALIDATE CONSTRAINT refunds_close_outcome;
