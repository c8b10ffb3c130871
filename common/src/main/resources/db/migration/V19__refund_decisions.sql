-- Every decision a super_admin takes on a refund: who approved or rejected it, who retried or closed
-- it after it failed at Stripe, when, and with what reason (a rejection's or a close's). Written in
-- the transaction that changes the refund, append only: a refund retried twice has two rows.
CREATE TABLE refund_decisions (
    id          bigserial   PRIMARY KEY,
    refund_id   uuid        NOT NULL REFERENCES payment_refunds (id),
    decision    text        NOT NULL CHECK (decision IN ('approved', 'rejected', 'retried', 'closed')),
    decided_by  uuid        NOT NULL,
    reason      text,
    decided_at  timestamptz NOT NULL
);
CREATE INDEX refund_decisions_by_refund ON refund_decisions (refund_id);
