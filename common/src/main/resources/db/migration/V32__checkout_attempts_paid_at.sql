-- When checkout-api found an attempt's PaymentIntent paid (or on its way) at Stripe and closed the
-- attempt, before the payment processor recorded the payment: a featured week paid so is counted
-- when the next featured week of the listing is checked to fit, until the processor records it.
-- Null for attempts closed otherwise and for those closed before this column.
ALTER TABLE checkout_attempts ADD COLUMN paid_at timestamptz;
