-- A checkout or promotion the rules refuse while an earlier one of the same listing and type is open
-- and unpaid (the listing expired, a featured week no longer fits) closes that attempt and cancels
-- its PaymentIntent at Stripe: its buyer still holds the client secret. The PaymentIntent is written
-- here in the transaction that closes the attempt, so that one Stripe could not cancel then (or that
-- a crash left uncanceled) is canceled by the refund worker's janitor, as a closed listing's is.
SET LOCAL lock_timeout = '5s';
ALTER TABLE payment_intents_to_cancel DROP CONSTRAINT payment_intents_to_cancel_reason_check;
ALTER TABLE payment_intents_to_cancel ADD CONSTRAINT payment_intents_to_cancel_reason_check
    CHECK (reason IN ('listing_rejected', 'listing_expired', 'checkout_refused'));
