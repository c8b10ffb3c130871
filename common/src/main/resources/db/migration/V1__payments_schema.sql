-- The schema of SPEC §5 plus what the workers need to apply each event once.
-- Money is integer cents; times are timestamptz (UTC). Statuses and reasons are checked here, so no
-- code path can write a state the business rules do not know.

CREATE TABLE categories (
    id                bigint      PRIMARY KEY,
    slug              text        NOT NULL UNIQUE,
    name              text        NOT NULL,
    posting_fee_cents integer     NOT NULL CHECK (posting_fee_cents >= 0),
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- SPEC §1: posting fee by category slug.
INSERT INTO categories (id, slug, name, posting_fee_cents) VALUES
    (1, 'housing',      'Housing',        500),
    (2, 'jobs',         'Jobs',          1000),
    (3, 'cars-trucks',  'Cars & Trucks',  500),
    (4, 'motorcycles',  'Motorcycles',    300),
    (5, 'rvs-campers',  'RVs & Campers',  500),
    (6, 'boats',        'Boats',          500),
    (7, 'for-sale',     'For Sale',         0),
    (8, 'services',     'Services',         0),
    (9, 'community',    'Community',        0);

CREATE TABLE users (
    id         uuid        PRIMARY KEY,
    banned_at  timestamptz,
    ban_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_ban_has_reason CHECK (banned_at IS NULL OR ban_reason IS NOT NULL)
);

CREATE TABLE marketplace_listings (
    id                uuid        PRIMARY KEY,
    user_id           uuid        NOT NULL REFERENCES users (id),
    category_id       bigint      NOT NULL REFERENCES categories (id),
    title             text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    status            text        NOT NULL
        CHECK (status IN ('pending_payment', 'active', 'rejected', 'expired')),
    payment_intent_id text,
    activated_at      timestamptz,
    expires_at        timestamptz,
    last_bumped_at    timestamptz,
    rejected_at       timestamptz,
    rejection_reason  text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT listings_active_has_dates
        CHECK (status <> 'active' OR (activated_at IS NOT NULL AND expires_at IS NOT NULL))
);
CREATE INDEX listings_by_user ON marketplace_listings (user_id);
CREATE INDEX listings_active_by_expiry ON marketplace_listings (expires_at) WHERE status = 'active';
CREATE INDEX listings_by_payment_intent ON marketplace_listings (payment_intent_id);

-- Every PaymentIntent we create, with the purchase it pays for. The workers trust this record, not the
-- PaymentIntent's metadata, to decide what a payment buys.
CREATE TABLE payments (
    stripe_payment_intent_id text        PRIMARY KEY,
    listing_id               uuid        NOT NULL,
    user_id                  uuid        NOT NULL,
    payment_type             text        NOT NULL
        CHECK (payment_type IN ('posting_fee', 'promotion_featured', 'promotion_bump')),
    amount_cents             integer     NOT NULL CHECK (amount_cents > 0),
    currency                 text        NOT NULL DEFAULT 'usd' CHECK (currency = lower(currency)),
    status                   text        NOT NULL
        CHECK (status IN ('requires_payment', 'processing', 'succeeded', 'failed', 'canceled')),
    failure_message          text,
    created_at               timestamptz NOT NULL DEFAULT now(),
    succeeded_at             timestamptz,
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_succeeded_has_time CHECK (status <> 'succeeded' OR succeeded_at IS NOT NULL)
);
CREATE INDEX payments_by_listing ON payments (listing_id);
CREATE INDEX payments_by_user ON payments (user_id);

-- One open purchase per listing and type. Its id is the Stripe idempotency key, so retried or
-- concurrent checkouts of the same purchase reach the same PaymentIntent.
CREATE TABLE checkout_attempts (
    id                       uuid        PRIMARY KEY,
    listing_id               uuid        NOT NULL REFERENCES marketplace_listings (id),
    user_id                  uuid        NOT NULL,
    payment_type             text        NOT NULL
        CHECK (payment_type IN ('posting_fee', 'promotion_featured', 'promotion_bump')),
    amount_cents             integer     NOT NULL CHECK (amount_cents > 0),
    stripe_payment_intent_id text        UNIQUE,
    status                   text        NOT NULL CHECK (status IN ('open', 'closed')),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX checkout_attempts_one_open
    ON checkout_attempts (listing_id, payment_type) WHERE status = 'open';

CREATE TABLE listing_promotions (
    id                       uuid        PRIMARY KEY,
    listing_id               uuid        NOT NULL REFERENCES marketplace_listings (id),
    type                     text        NOT NULL CHECK (type IN ('featured', 'bump')),
    stripe_payment_intent_id text        NOT NULL UNIQUE,
    amount_cents             integer     NOT NULL CHECK (amount_cents > 0),
    starts_at                timestamptz NOT NULL,
    expires_at               timestamptz,
    expired_at               timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT promotions_featured_has_end
        CHECK (type <> 'featured' OR (expires_at IS NOT NULL AND expires_at > starts_at)),
    CONSTRAINT promotions_bump_is_instant CHECK (type <> 'bump' OR expired_at IS NULL)
);
CREATE INDEX promotions_by_listing ON listing_promotions (listing_id);
CREATE INDEX promotions_featured_running
    ON listing_promotions (expires_at) WHERE type = 'featured' AND expired_at IS NULL;

CREATE TABLE payment_refunds (
    id                       uuid        PRIMARY KEY,
    user_id                  uuid        NOT NULL,
    listing_id               uuid,
    stripe_payment_intent_id text        NOT NULL,
    stripe_refund_id         text        UNIQUE,
    stripe_dispute_id        text        UNIQUE,
    amount_cents             integer     NOT NULL CHECK (amount_cents > 0),
    reason                   text        NOT NULL
        CHECK (reason IN ('technical_failure', 'moderation_rejection', 'user_request', 'chargeback')),
    status                   text        NOT NULL
        CHECK (status IN ('pending', 'approved', 'rejected', 'processed')),
    note                     text,
    rejection_reason         text,
    last_error               text,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    processed_at             timestamptz,
    CONSTRAINT refunds_chargeback_has_dispute
        CHECK (reason <> 'chargeback' OR stripe_dispute_id IS NOT NULL)
);
CREATE INDEX refunds_by_status ON payment_refunds (status, created_at);
CREATE INDEX refunds_by_payment_intent ON payment_refunds (stripe_payment_intent_id);
CREATE INDEX refunds_by_user ON payment_refunds (user_id);
-- A payment is refunded automatically at most once, whatever re-delivers the rejection.
CREATE UNIQUE INDEX refunds_one_automatic_per_payment
    ON payment_refunds (stripe_payment_intent_id)
    WHERE reason IN ('technical_failure', 'moderation_rejection');

-- Every dispute Stripe tells us of, inquiries included; only non-inquiries are chargebacks.
CREATE TABLE payment_disputes (
    stripe_dispute_id        text        PRIMARY KEY,
    stripe_payment_intent_id text        NOT NULL,
    stripe_charge_id         text,
    user_id                  uuid,
    amount_cents             integer     NOT NULL CHECK (amount_cents >= 0),
    reason                   text,
    status                   text        NOT NULL,
    is_inquiry               boolean     NOT NULL,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    closed_at                timestamptz
);
CREATE INDEX disputes_by_user ON payment_disputes (user_id);

-- The audit trail of every Stripe event the payment processor received.
CREATE TABLE webhook_events (
    event_id      text        PRIMARY KEY,
    event_type    text        NOT NULL,
    payload       jsonb       NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz,
    status        text        NOT NULL CHECK (status IN ('received', 'processed', 'ignored', 'failed')),
    error_message text
);

-- Which events each consumer has applied: written in the same transaction as the effect.
CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_key    text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_key)
);

-- Events to publish, written in the same transaction as the state change they announce. event_id is
-- derived from the fact, so re-processing can never mint a second id for it.
CREATE TABLE outbox_events (
    seq          bigserial   PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    destination  text        NOT NULL,
    message_key  text        NOT NULL,
    event_type   text        NOT NULL,
    payload      text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox_events (seq) WHERE published_at IS NULL;

-- Replays of POST requests by Idempotency-Key (SPEC §3), scoped to the caller.
CREATE TABLE idempotency_keys (
    user_id             uuid        NOT NULL,
    idempotency_key     text        NOT NULL,
    request_fingerprint text        NOT NULL,
    response_status     integer,
    response_body       text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    completed_at        timestamptz,
    PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
