-- Which checkout-api process holds an Idempotency-Key claim: the number of the advisory lock that
-- process holds for as long as it lives (ClaimOwner). A claim whose owner's lock is gone (the
-- process was killed, or lost its database session) is taken over by the client's retry at once
-- instead of after five minutes. NULL for claims made before this column, and for their lapse the
-- five minutes still hold. Adding a nullable column without a default rewrites nothing.
SET LOCAL lock_timeout = '5s';
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS claimed_by integer;
