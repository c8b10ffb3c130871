-- A refund Stripe fails after creating it, or refuses for good, ends `failed` (SPEC §1) instead of
-- staying `processed` or `approved` with an error: announced as refund.failed, alerted on, and
-- retried (with a new Stripe idempotency key) or closed by an admin.
ALTER TABLE payment_refunds DROP CONSTRAINT payment_refunds_status_check;
ALTER TABLE payment_refunds ADD CONSTRAINT payment_refunds_status_check
    CHECK (status IN ('pending', 'approved', 'rejected', 'processed', 'failed'));

ALTER TABLE payment_refunds
    -- Stripe's word for why: its refund failure_reason (e.g. expired_or_canceled_card) or the
    -- error code of a refusal (resource_missing, charge_already_refunded, ...)
    ADD COLUMN failure_reason     text,
    ADD COLUMN failed_at          timestamptz,
    -- When the executor first called Stripe for the current attempt. The janitor bumps updated_at
    -- to claim a record and never touches this, so "look for an earlier Stripe refund first" keys
    -- off it: a retry after Stripe's 24 h idempotency window cannot refund twice.
    ADD COLUMN first_attempted_at timestamptz,
    -- 0 for the first attempt; an admin's retry of a failed refund starts the next one, under a
    -- new Stripe idempotency key (the old key would only return the failed refund again).
    ADD COLUMN attempt            integer     NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    -- an admin looked at a failed refund and closed it without retrying
    ADD COLUMN closed_at          timestamptz,
    ADD COLUMN close_reason       text;

-- Approved records from before this column may have reached Stripe already.
UPDATE payment_refunds SET first_attempted_at = created_at WHERE status = 'approved';

CREATE INDEX refunds_failed_open ON payment_refunds (failed_at) WHERE status = 'failed' AND closed_at IS NULL;

-- Every Stripe refund (re_...) known to have failed, ours or not: a failure is applied once per
-- Stripe refund whatever event ids carry it, and a late refund.created of a refund that already
-- failed is not taken for money that went back.
CREATE TABLE refund_stripe_failures (
    stripe_refund_id text        PRIMARY KEY,
    refund_id        uuid,
    failure_reason   text,
    recorded_at      timestamptz NOT NULL DEFAULT now()
);

-- jsonb cannot hold the character U+0000 (PostgreSQL rejects "\u0000" in jsonb), yet it is valid
-- JSON and may come in any customer-written text of an event. Such a payload is stored in `payload`
-- with U+0000 replaced by U+FFFD, and byte for byte as text here; payload_raw is NULL otherwise.
ALTER TABLE webhook_events ADD COLUMN payload_raw text;
