-- A featured week still to run when the payment processor takes back its listing's activation
-- (listing.withdrawn: the posting fee had activated it after all of its money went back) ends
-- then, marked end_cause = 'listing_withdrawn', and its payment is refunded as a purchase that
-- cannot be delivered. The constraint is replaced by one that also allows that cause, NOT VALID as
-- before, so that nothing is scanned; its lock is waited for 5 s at most.
SET LOCAL lock_timeout = '5s';
ALTER TABLE listing_promotions DROP CONSTRAINT IF EXISTS promotions_end_cause;
ALTER TABLE listing_promotions
    ADD CONSTRAINT promotions_end_cause
        CHECK (end_cause IN ('expired', 'listing_rejected', 'listing_withdrawn', 'refunded',
                             'disputed')) NOT VALID;
