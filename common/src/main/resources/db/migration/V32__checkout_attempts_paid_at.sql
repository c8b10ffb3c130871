-- When checkout-api found an attempt's PaymentIntent paid (or on its way) at Stripe and closed the
-- attempt, before the payment processor recorded the payment: a featured week paid so is counted
-- when the next featured week of the listing is checked to fit, until the processor records it.
-- Null for attempts closed otherwise and for those closed before this column. Adding a nullable
-- column without a default rewrites nothing; the lock it needs is waited for 5 s at most, so that
-- checkouts do not queue behind it during a rolling deploy.
SET LOCAL lock_timeout = '5s';
ALTER TABLE checkout_attempts ADD COLUMN IF NOT EXISTS paid_at timestamptz;
