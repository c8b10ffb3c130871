-- The payment attempt (Stripe's charge, `last_payment_error.charge`) the payment's last recorded
-- failure was. Stripe may report one declined attempt in two events with different ids; the
-- processor records and announces an attempt once, by this id, not once per event. NULL until a
-- failure is recorded; the event id where Stripe names no charge for the attempt. Adding a
-- nullable column without a default rewrites nothing; the lock it needs is waited for 5 s at most.
SET LOCAL lock_timeout = '5s';
ALTER TABLE payments ADD COLUMN IF NOT EXISTS failed_attempt text;
