-- When the payment processor held back what a succeeded payment bought because all of its money had
-- gone back before the success was applied (a chargeback or a dashboard refund the refund worker
-- recorded first); null once delivered, or refunded as undeliverable. The refund worker asks for
-- the delivery (payments.internal.delivery-commands.v1) when that money comes back to us. Adding a
-- nullable column without a default rewrites nothing; its lock is waited for 5 s at most.
SET LOCAL lock_timeout = '5s';
ALTER TABLE payments ADD COLUMN IF NOT EXISTS delivery_withheld_at timestamptz;
