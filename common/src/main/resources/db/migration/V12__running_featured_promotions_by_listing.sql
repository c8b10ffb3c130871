-- The payment processor asks, for every listing it promotes, until when that listing is already
-- featured: the end of its running featured promotions (PaymentBatch.readPromotions), and the
-- checkout API asks the same when it shows a listing. Through promotions_by_listing each answer
-- fetched every promotion the listing ever had from the heap, so it grew with the listing's
-- history. This index holds only the running featured promotions, with their end: the answer is
-- one probe of a small index whatever the history.
--
-- Built CONCURRENTLY so that payments keep flowing while it builds (a plain CREATE INDEX would hold
-- back every promotion written meanwhile, and with it the processor's batches). That cannot run in
-- a transaction, so Flyway runs this migration outside one; should a build fail half-way it leaves
-- an invalid index behind, which the DROP of the next attempt removes.
DROP INDEX CONCURRENTLY IF EXISTS promotions_featured_running_by_listing;
CREATE INDEX CONCURRENTLY promotions_featured_running_by_listing
    ON listing_promotions (listing_id, expires_at)
    WHERE type = 'featured' AND expired_at IS NULL;
