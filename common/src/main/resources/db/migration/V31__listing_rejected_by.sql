-- Who rejected a listing: a rejection refunds its payments, so the super_admin who decided it is
-- kept with it, as refund_decisions keeps who decided a refund. Null for rejections published on
-- marketplace.moderation.v1 by another service (its message names no one: SPEC 4) and for those
-- made before this column.
ALTER TABLE marketplace_listings ADD COLUMN rejected_by uuid;
