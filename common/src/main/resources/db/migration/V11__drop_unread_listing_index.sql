-- No query reads listings by PaymentIntent: the payments table maps a PaymentIntent to its listing
-- (stripe_payment_intent_id is its primary key). The index only cost a B-tree insert, with a text
-- comparison per level, on every listing written, and an activation writes a new listing tuple.
DROP INDEX IF EXISTS listings_by_payment_intent;
