-- Every declined attempt of a payment the payment processor announced as payment.failed, by the
-- attempt (Stripe's charge of it, or the id of the event that reported a failure without a charge).
-- The payments row keeps only the latest failure; an attempt Stripe reports late (after the
-- payment's success, or after a later attempt's failure) is still announced, once, and a second
-- event reporting an attempt already announced announces nothing, whatever the order of delivery.
CREATE TABLE IF NOT EXISTS payment_failed_attempts (
    attempt                  text        PRIMARY KEY,
    stripe_payment_intent_id text        NOT NULL,
    failed_at                timestamptz NOT NULL,
    announced_at             timestamptz NOT NULL DEFAULT now()
);

-- The attempts announced before this table: the one each payment recorded.
INSERT INTO payment_failed_attempts (attempt, stripe_payment_intent_id, failed_at)
SELECT failed_attempt, stripe_payment_intent_id, COALESCE(failed_at, updated_at, now())
FROM payments WHERE failed_attempt IS NOT NULL
ON CONFLICT (attempt) DO NOTHING;
