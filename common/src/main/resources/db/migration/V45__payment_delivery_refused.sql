-- When the payment processor found a succeeded purchase undeliverable (its listing not live, a
-- featured week that would run past the listing's end) and sent it for an automatic refund as a
-- technical failure; null when it never did. A success of the same payment applied again (a
-- reconcile repair, another event id) then delivers nothing, even once the purchase would fit: its
-- money is on its way back. Adding a nullable column without a default rewrites nothing; its lock
-- is waited for 5 s at most.
SET LOCAL lock_timeout = '5s';
ALTER TABLE payments ADD COLUMN IF NOT EXISTS delivery_refused_at timestamptz;
