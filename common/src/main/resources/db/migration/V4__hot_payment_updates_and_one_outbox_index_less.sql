-- The payment processor writes, per Stripe event, one payments row, one listing, two outbox rows
-- and an audit row; every index entry it adds is PostgreSQL work on the hot path (docs/benchmarks.md).
--
-- A payment is inserted at checkout and updated once or twice (status, succeeded_at,
-- failure_message, updated_at), none of them indexed: with room left in its page the update is
-- HOT, a new row version on the same page and no new index entries. Only pages written from now on
-- keep the room.
ALTER TABLE payments SET (fillfactor = 85);

-- The relay deletes outbox rows once the broker has them, so every live row is unpublished and the
-- primary key orders the relay's scan as the partial index did; rows marked published by relays of
-- earlier versions are few and purged after a week.
DROP INDEX outbox_unpublished;
