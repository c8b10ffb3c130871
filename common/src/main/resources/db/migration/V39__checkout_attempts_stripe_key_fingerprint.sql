-- Which Stripe secret key an attempt's PaymentIntent was recorded with (a short SHA-256 of it,
-- which tells keys apart and reveals nothing of them). A key belongs to one account and mode, so
-- when that same key is answered 404 resource_missing for the PaymentIntent, the PaymentIntent is
-- gone and nobody can pay it: checkout gives the attempt up and starts anew. Under another key
-- (rotated to another account or mode) the PaymentIntent may still be payable where it was made,
-- and is never replaced. Null for attempts recorded before this column: never replaced either.
-- Adding a nullable column without a default rewrites nothing; the lock it needs is waited for 5 s
-- at most, so that checkouts do not queue behind it during a rolling deploy.
SET LOCAL lock_timeout = '5s';
ALTER TABLE checkout_attempts ADD COLUMN IF NOT EXISTS stripe_key_fingerprint text;
