-- No query reads listings by PaymentIntent: the payments table maps a PaymentIntent to its listing
-- (stripe_payment_intent_id is its primary key). The index only cost a B-tree insert, with a text
-- comparison per level, on every listing written, and an activation writes a new listing tuple.
--
-- Dropping it takes the table's exclusive lock for a moment; rather than queue every listing query
-- behind a long transaction while waiting for it, the migration gives up after 5 s (the transaction
-- rolls back, and the next start of the service tries again).
SET LOCAL lock_timeout = '5s';
DROP INDEX IF EXISTS listings_by_payment_intent;
