-- Why a featured week ended, so that a week a dispute's chargeback ended early is given back (what
-- was left of it, as a new week) when that dispute is won, and no other is: a week that ran out
-- (expired), whose listing was rejected (listing_rejected) or whose money went back as a refund
-- (refunded) stays ended. ended_by_dispute_id names the dispute of a week ended as disputed. Rows
-- ended before this column keep it null, but for weeks a chargeback ended since the featured weeks
-- end with their money (their expired_at is the time their chargeback was recorded, in the same
-- transaction), which are marked here so that their disputes, when won, give them back too.
--
-- A week given back is a row of its own (restores_promotion_id: the week it gives back; its id is
-- derived from that week's id, so it is created once), paid by the payment of the week it gives
-- back: stripe_payment_intent_id stays unique to the row the payment bought, and is null on the
-- week given back.
--
-- Nullable columns without a default and NOT VALID constraints rewrite and scan nothing; the lock
-- they need is waited for 5 s at most, so that payments do not queue behind it during a rolling
-- deploy.
SET LOCAL lock_timeout = '5s';
ALTER TABLE listing_promotions
    ADD COLUMN IF NOT EXISTS end_cause text,
    ADD COLUMN IF NOT EXISTS ended_by_dispute_id text,
    ADD COLUMN IF NOT EXISTS restores_promotion_id uuid,
    ALTER COLUMN stripe_payment_intent_id DROP NOT NULL;
ALTER TABLE listing_promotions
    ADD CONSTRAINT promotions_end_cause
        CHECK (end_cause IN ('expired', 'listing_rejected', 'refunded', 'disputed')) NOT VALID,
    ADD CONSTRAINT promotions_disputed_names_its_dispute
        CHECK ((end_cause IS DISTINCT FROM 'disputed') = (ended_by_dispute_id IS NULL)) NOT VALID,
    ADD CONSTRAINT promotions_paid
        CHECK (stripe_payment_intent_id IS NOT NULL OR restores_promotion_id IS NOT NULL) NOT VALID,
    ADD CONSTRAINT promotions_restores_a_promotion
        FOREIGN KEY (restores_promotion_id) REFERENCES listing_promotions (id) NOT VALID;

UPDATE listing_promotions p
SET end_cause = 'disputed', ended_by_dispute_id = r.stripe_dispute_id
FROM payment_refunds r
WHERE r.reason = 'chargeback' AND r.stripe_dispute_id IS NOT NULL
  AND r.stripe_payment_intent_id = p.stripe_payment_intent_id
  AND p.type = 'featured' AND p.end_cause IS NULL AND p.expires_at > p.expired_at
  AND p.expired_at BETWEEN r.processed_at - interval '1 millisecond'
                       AND r.processed_at + interval '1 millisecond';
