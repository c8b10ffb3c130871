-- When Stripe created the event whose status payment_disputes.status holds. A dispute's outcome
-- may change after it closed (a win the card network reverses: lost after won, or won after
-- lost), and Stripe does not deliver its events in order: the refund worker takes the status of an
-- event created no earlier than this one, so an event of the earlier outcome arriving late (a
-- funds_reinstated of the win delivered after the loss) does not bring that outcome back. Null for
-- disputes recorded before this column: their next event's status is taken. A nullable column
-- without a default rewrites nothing; its lock is waited for 5 s at most.
SET LOCAL lock_timeout = '5s';
ALTER TABLE payment_disputes ADD COLUMN IF NOT EXISTS status_as_of timestamptz;
