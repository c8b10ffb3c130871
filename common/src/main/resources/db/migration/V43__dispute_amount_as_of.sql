-- When Stripe created the event whose amount payment_disputes.amount_cents holds. The card network
-- may change a chargeback's amount after it opened (a part of the order disputed, or accepted),
-- and Stripe tells it in the dispute's later events, which it does not deliver in order: the
-- refund worker takes the amount of an event created no earlier than this one, so an event from
-- before the change arriving late does not bring the old amount back. Null for disputes recorded
-- before this column: their next event's amount is taken. A nullable column without a default
-- rewrites nothing; its lock is waited for 5 s at most.
SET LOCAL lock_timeout = '5s';
ALTER TABLE payment_disputes ADD COLUMN IF NOT EXISTS amount_as_of timestamptz;
