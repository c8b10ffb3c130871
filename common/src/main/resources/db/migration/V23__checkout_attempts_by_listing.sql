-- The payment processor rebuilds a payments row lost between Stripe and checkout-api only for a
-- purchase a checkout priced: it looks for the attempt by listing (with its user, type and amount).
--
-- Built CONCURRENTLY so that checkouts keep flowing while it builds (a plain CREATE INDEX would hold
-- back every checkout attempt written meanwhile). That cannot run in a transaction, so Flyway runs
-- this migration outside one; should a build fail half-way it leaves an invalid index behind, which
-- the DROP of the next attempt removes.
DROP INDEX CONCURRENTLY IF EXISTS checkout_attempts_by_listing;
CREATE INDEX CONCURRENTLY checkout_attempts_by_listing ON checkout_attempts (listing_id);
