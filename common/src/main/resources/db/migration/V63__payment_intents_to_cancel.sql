-- PaymentIntents nobody may pay any more, still to cancel at Stripe: those of a listing rejected by
-- moderation or ended by expiry (unpaid, or declined and confirmable again with another card). The
-- rejection or the expiry writes them in its own transaction, whoever rejected (checkout-api's
-- admin route, or another service on marketplace.moderation.v1); checkout-api cancels its own
-- rejection's at once, and the refund worker's janitor cancels what is left, again while Stripe
-- cannot, and deletes each row once Stripe has canceled the PaymentIntent or says it cannot be
-- canceled (paid or processing: a payment that succeeds on a listing no longer live is refunded).
SET LOCAL lock_timeout = '5s';
CREATE TABLE IF NOT EXISTS payment_intents_to_cancel (
    stripe_payment_intent_id text        PRIMARY KEY,
    listing_id               uuid        NOT NULL,
    reason                   text        NOT NULL
        CHECK (reason IN ('listing_rejected', 'listing_expired')),
    attempts                 integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at          timestamptz NOT NULL,
    created_at               timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS payment_intents_to_cancel_due
    ON payment_intents_to_cancel (next_attempt_at);
