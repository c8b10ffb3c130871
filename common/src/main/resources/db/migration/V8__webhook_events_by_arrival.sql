-- The expirer deletes audit rows of Stripe events older than the retention (WEBHOOK_EVENTS_RETENTION).
-- Rows arrive in received_at order, so a block-range index finds the old ones at a fraction of a
-- B-tree's size and write cost on the processor's hot insert path.
CREATE INDEX webhook_events_received_at_brin ON webhook_events USING brin (received_at);
