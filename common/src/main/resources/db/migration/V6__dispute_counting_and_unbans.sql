-- A ban is decided once per dispute, when that dispute first counts as a chargeback (SPEC §1), not on
-- every later event about it: an admin's unban stands until the next new dispute.
ALTER TABLE payment_disputes
    -- when the dispute first counted toward a ban (a chargeback, not an inquiry, not closed as won)
    ADD COLUMN counted_at timestamptz;

UPDATE payment_disputes SET counted_at = created_at WHERE NOT is_inquiry AND status <> 'won';

-- The last manual unban of a user: who, when and why (the ban columns are cleared by it).
ALTER TABLE users
    ADD COLUMN unbanned_at  timestamptz,
    ADD COLUMN unbanned_by  uuid,
    ADD COLUMN unban_reason text,
    ADD CONSTRAINT users_unban_is_audited
        CHECK (unbanned_at IS NULL OR (unbanned_by IS NOT NULL AND unban_reason IS NOT NULL));
