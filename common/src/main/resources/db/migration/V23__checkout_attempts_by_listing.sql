-- The payment processor rebuilds a payments row lost between Stripe and checkout-api only for a
-- purchase a checkout priced: it looks for the attempt by listing (with its user, type and amount).
CREATE INDEX IF NOT EXISTS checkout_attempts_by_listing ON checkout_attempts (listing_id);
